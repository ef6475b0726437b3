"""JSON read as the config loader's node tree (gateway/config/yamlnodes.py): values with lines.

`json.loads` forgets where a value was written, and `routes --against api.json` must point at
the line of a doubtful path, as it does for a YAML document. The text is checked by `json`
first (its own message, with a line, for a syntax error); the walk here then only records each
value's line and reports duplicate keys, which `json` silently resolves to the last.
"""

from __future__ import annotations

import bisect
import json
import re

from gateway.config.yamlnodes import ConfigIssue, Errors, Node

_SPACE = re.compile(r"[ \t\n\r]*")
_decoder = json.JSONDecoder()


class _Walk:
    def __init__(self, text: str, errors: Errors) -> None:
        self.text = text
        self.errors = errors
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def line(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def skip(self, pos: int) -> int:
        match = _SPACE.match(self.text, pos)
        assert match is not None  # `*` matches the empty string
        return match.end()

    def value(self, pos: int, path: str) -> tuple[Node, int]:
        pos = self.skip(pos)
        opening = self.text[pos]
        if opening == "{":
            return self.mapping(pos, path)
        if opening == "[":
            return self.sequence(pos, path)
        scalar, end = _decoder.raw_decode(self.text, pos)
        return Node(scalar, self.line(pos)), end

    def mapping(self, start: int, path: str) -> tuple[Node, int]:
        out: dict[str, Node] = {}
        key_lines: dict[str, int] = {}
        pos = self.skip(start + 1)
        while self.text[pos] != "}":
            key, pos = _decoder.raw_decode(self.text, pos)
            line = self.line(pos)
            dotted = f"{path}.{key}" if path else key
            child, pos = self.value(self.skip(pos) + 1, dotted)  # past the ':'
            if key in out:
                message = f"duplicate key (first on line {key_lines[key]})"
                self.errors.issues.append(ConfigIssue(self.errors.file, line, dotted, message))
            else:
                out[key], key_lines[key] = child, line
            pos = self.skip(pos)
            if self.text[pos] == ",":
                pos = self.skip(pos + 1)
        return Node(out, self.line(start), key_lines), pos + 1

    def sequence(self, start: int, path: str) -> tuple[Node, int]:
        items: list[Node] = []
        pos = self.skip(start + 1)
        while self.text[pos] != "]":
            item, pos = self.value(pos, f"{path}[{len(items)}]")
            items.append(item)
            pos = self.skip(pos)
            if self.text[pos] == ",":
                pos = self.skip(pos + 1)
        return Node(items, self.line(start)), pos + 1


def load_json_nodes(text: str, errors: Errors) -> Node | None:
    """The document as nodes with their lines; a syntax error is a located issue and None."""
    try:
        json.loads(text)
        # Valid JSON from here on: the walk meets only what `json` accepted.
        return _Walk(text, errors).value(0, "")[0]
    except json.JSONDecodeError as exc:
        errors.issues.append(ConfigIssue(errors.file, exc.lineno, "(json)", exc.msg))
    except RecursionError:
        errors.issues.append(ConfigIssue(errors.file, 1, "(json)", "nested too deeply"))
    return None
