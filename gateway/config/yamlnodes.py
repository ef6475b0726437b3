"""Read YAML as a tree of nodes that remember their line, and collect located errors.

PyYAML's `safe_load` forgets where a value came from and silently keeps the last of two
duplicate keys. Config errors must say `FILE:LINE: dotted.key: message` and report every
problem in the file at once, so the config loader walks the composed node tree instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml

from gateway.wire.values import parse_duration


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
    """Collects issues while a file is walked, so every mistake is reported in one run.

    `warnings` are located too (`FILE:LINE: key: warning: ...`) but never fail the load: the
    config is valid, and `check` and start-up say what it will cost.
    """

    file: str
    issues: list[ConfigIssue] = field(default_factory=list)
    warnings: list[ConfigIssue] = field(default_factory=list)

    def add(self, node: Node | None, key: str, message: str) -> None:
        line = node.line if node is not None else 1
        self.issues.append(ConfigIssue(self.file, line, key, message))

    def warn(self, node: Node | None, key: str, message: str) -> None:
        line = node.line if node is not None else 1
        self.warnings.append(ConfigIssue(self.file, line, key, f"warning: {message}"))

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


def _convert(node: yaml.Node, errors: Errors, path: str, done: dict[int, Node]) -> Node:
    # An alias is the very node of its anchor: converted once and shared, as safe_load shares
    # it, so aliases of aliases (a billion values in a kilobyte) cost the text's size.
    converted = done.get(id(node))
    if converted is not None:
        return converted
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
            out[name] = _convert(value_node, errors, dotted, done)
            key_lines[name] = key_line
        converted = Node(out, line, key_lines)
    elif isinstance(node, yaml.SequenceNode):
        items = [_convert(item, errors, f"{path}[{i}]", done) for i, item in enumerate(node.value)]
        converted = Node(items, line)
    else:
        converted = Node(_constructor.construct_object(node, deep=True), line)
    done[id(node)] = converted
    return converted


def load_nodes(text: str, file: str, errors: Errors) -> Node | None:
    """Parse `text`; a YAML syntax error becomes a located issue and None, and so does a
    document nested past Python's recursion limit or an alias inside its own anchor."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is None:
            return Node({}, 1)
        return _convert(root, errors, "", {})
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        errors.issues.append(ConfigIssue(file, line, "(yaml)", str(exc.problem or exc)))
    except yaml.YAMLError as exc:
        errors.issues.append(ConfigIssue(file, 1, "(yaml)", str(exc)))
    except RecursionError:
        message = "nested too deeply (or an alias used inside its own anchor)"
        errors.issues.append(ConfigIssue(file, 1, "(yaml)", message))
    finally:
        # The shared constructor remembers every node it built; a reload must not keep them.
        _constructor.constructed_objects.clear()
        _constructor.recursive_objects.clear()
    return None


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


T = TypeVar("T")


class Reader:
    """Typed accessors over a mapping node that record located errors instead of raising."""

    def __init__(self, node: Node, path: str, errors: Errors) -> None:
        self.node, self.path, self.errors = node, path, errors

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def at(self, name: str) -> Node | None:
        value = self.node.value.get(name)
        assert value is None or isinstance(value, Node)
        return value

    def get(self, name: str, convert: Callable[[object], T], default: T, expected: str) -> T:
        child = self.at(name)
        if child is None or child.value is None:
            return default
        try:
            return convert(child.value)
        except (ValueError, TypeError):
            self.errors.add(child, self.key(name), f"expected {expected}, got {child.value!r}")
            return default

    def require(self, name: str, convert: Callable[[object], T], expected: str) -> T | None:
        child = self.at(name)
        if child is None or child.value is None:
            self.errors.add(self.node, self.key(name), f"required ({expected})")
            return None
        try:
            return convert(child.value)
        except (ValueError, TypeError):
            self.errors.add(child, self.key(name), f"expected {expected}, got {child.value!r}")
            return None

    def strings(self, name: str, default: tuple[str, ...]) -> tuple[tuple[str, Node], ...] | None:
        child = self.at(name)
        if child is None or child.value is None:
            return tuple((s, self.node) for s in default)
        items = [child] if isinstance(child.value, str) else child.value
        if not isinstance(items, list):
            self.errors.add(
                child, self.key(name), f"expected a list of strings, got {child.value!r}"
            )
            return None
        out = []
        for i, item in enumerate(items):
            if not isinstance(item.value, str) or not item.value:
                self.errors.add(
                    item, f"{self.key(name)}[{i}]", f"expected a string, got {item.value!r}"
                )
                continue
            out.append((item.value, item))
        return tuple(out)


def as_str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def choice(*choices: str) -> Callable[[object], Any]:
    def convert(value: object) -> str:
        if value not in choices:
            raise ValueError
        return str(value)

    return convert


def positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError
    return value


def as_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError
    return value


def positive_duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError
    return seconds


DURATION = 'seconds (2, "2s", "500ms")'
SIZE = 'a size in bytes (1048576, "512k", "10m")'


def mapping(node: Node | None, key: str, errors: Errors) -> Node | None:
    if node is None or node.value is None:
        return None
    if not isinstance(node.value, dict):
        errors.add(node, key, f"expected a mapping, got {node.value!r}")
        return None
    return node
