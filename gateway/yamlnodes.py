"""Read YAML as a tree of nodes that remember their line, and collect located errors.

PyYAML's `safe_load` forgets where a value came from and silently keeps the last of two
duplicate keys. Config errors must say `FILE:LINE: dotted.key: message` and report every
problem in the file at once, so the config loader walks the composed node tree instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.message}"


class ConfigError(Exception):
    """One or more located problems in a config file; `str()` lists them one per line."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues = tuple(sorted(issues, key=lambda i: (i.line, i.key)))
        super().__init__("\n".join(str(i) for i in self.issues))


@dataclass
class Errors:
    """Collects issues while a file is walked, so every mistake is reported in one run."""

    file: str
    issues: list[ConfigIssue] = field(default_factory=list)

    def add(self, node: Node | None, key: str, message: str) -> None:
        line = node.line if node is not None else 1
        self.issues.append(ConfigIssue(self.file, line, key, message))

    def raise_if_any(self) -> None:
        if self.issues:
            raise ConfigError(self.issues)


@dataclass(frozen=True)
class Node:
    """A YAML value with the 1-based line it starts on."""

    value: Any  # dict[str, Node] | list[Node] | scalar
    line: int
    key_lines: dict[str, int] = field(default_factory=dict)

    def items(self) -> Iterator[tuple[str, Node]]:
        assert isinstance(self.value, dict)
        yield from self.value.items()


_constructor = yaml.SafeLoader("")


def _convert(node: yaml.Node, errors: Errors, path: str) -> Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Node] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = _constructor.construct_object(key_node, deep=True)
            key_line = key_node.start_mark.line + 1
            name = str(key)
            dotted = f"{path}.{name}" if path else name
            if name in out:
                errors.issues.append(
                    ConfigIssue(
                        errors.file,
                        key_line,
                        dotted,
                        f"duplicate key (first on line {key_lines[name]})",
                    )
                )
                continue
            out[name] = _convert(value_node, errors, dotted)
            key_lines[name] = key_line
        return Node(out, line, key_lines)
    if isinstance(node, yaml.SequenceNode):
        return Node(
            [_convert(item, errors, f"{path}[{i}]") for i, item in enumerate(node.value)], line
        )
    return Node(_constructor.construct_object(node, deep=True), line)


def load_nodes(text: str, file: str, errors: Errors) -> Node | None:
    """Parse `text`; a YAML syntax error becomes a located issue and None."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        errors.issues.append(ConfigIssue(file, line, "(yaml)", str(exc.problem or exc)))
        return None
    except yaml.YAMLError as exc:
        errors.issues.append(ConfigIssue(file, 1, "(yaml)", str(exc)))
        return None
    if root is None:
        return Node({}, 1)
    return _convert(root, errors, "")


def check_keys(node: Node, allowed: Sequence[str], path: str, errors: Errors) -> None:
    """Unknown keys are errors, with a did-you-mean, never silently ignored."""
    for key, child in node.items():
        if key in allowed:
            continue
        dotted = f"{path}.{key}" if path else key
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        line = node.key_lines.get(key, child.line)
        errors.issues.append(ConfigIssue(errors.file, line, dotted, f"unknown key{hint}"))
