"""JSON read with the line of every value, as the config loader reads YAML."""

from __future__ import annotations

import json

from gateway.cli.jsonnodes import load_json_nodes
from gateway.config.yamlnodes import Errors, Node

DOCUMENT = """\
{
  "openapi": "3.1.0",
  "paths": {
    "/pay": {"post": {}},

    "/users/{id}": {
      "get": {"summary": "a \\"quoted\\" {brace} [bracket]"},
      "delete": {}
    }
  },
  "servers": [{"url": "/v1"}, {"url": "https://api.example.com"}],
  "x": [1, 2.5, true, null, [], {}]
}
"""


def plain(node: Node) -> object:
    if isinstance(node.value, dict):
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node.value, list):
        return [plain(v) for v in node.value]
    return node.value


def test_values_are_jsons_own_and_each_knows_its_line() -> None:
    errors = Errors("api.json")
    root = load_json_nodes(DOCUMENT, errors)
    assert root is not None and errors.issues == []
    assert plain(root) == json.loads(DOCUMENT)
    paths = root.value["paths"]
    assert (root.line, paths.line) == (1, 3)
    assert paths.key_lines == {"/pay": 4, "/users/{id}": 6}
    users = paths.value["/users/{id}"]
    assert users.key_lines == {"get": 7, "delete": 8}
    assert [s.line for s in root.value["servers"].value] == [11, 11]


def test_a_duplicate_key_is_reported_where_it_repeats_and_the_first_kept() -> None:
    errors = Errors("api.json")
    root = load_json_nodes('{"paths": {\n "/a": 1,\n "/a": 2\n}}', errors)
    assert root is not None and plain(root) == {"paths": {"/a": 1}}
    assert [str(i) for i in errors.issues] == [
        "api.json:3: paths./a: duplicate key (first on line 2)"
    ]


def test_a_syntax_error_is_jsons_message_at_its_line() -> None:
    errors = Errors("api.json")
    assert load_json_nodes('{\n  "paths": {\n    "/a": ,\n  }\n}', errors) is None
    assert [str(i) for i in errors.issues] == ["api.json:3: (json): Expecting value"]


def test_nesting_too_deep_is_an_error_not_a_crash() -> None:
    errors = Errors("deep.json")
    assert load_json_nodes("[" * 100_000 + "]" * 100_000, errors) is None
    assert [str(i) for i in errors.issues] == ["deep.json:1: (json): nested too deeply"]
