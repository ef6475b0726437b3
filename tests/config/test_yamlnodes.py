"""YAML as nodes that remember their line; located errors collected, never raised one by one."""

from __future__ import annotations

import pytest

from gateway.config.yamlnodes import (
    ConfigError,
    ConfigIssue,
    Errors,
    Node,
    Reader,
    as_bool,
    as_str,
    check_keys,
    choice,
    load_nodes,
    mapping,
    positive_duration,
    positive_int,
)

TEXT = """\
top:
  name: gate
  count: 3
  words: [a, b]
  one: solo
other: 1
"""


def load(text: str = TEXT) -> tuple[Node, Errors]:
    errors = Errors("f.yaml")
    node = load_nodes(text, "f.yaml", errors)
    assert node is not None
    return node, errors


def test_nodes_remember_the_line_of_each_value_and_key() -> None:
    root, errors = load()
    assert errors.issues == []
    top = root.value["top"]
    assert (top.line, top.value["count"].line, top.value["count"].value) == (2, 3, 3)
    assert root.key_lines == {"top": 1, "other": 6}
    assert [w.line for w in top.value["words"].value] == [4, 4]


def test_an_empty_file_is_an_empty_mapping() -> None:
    root, errors = load("")
    assert (root.value, root.line, errors.issues) == ({}, 1, [])


def test_a_duplicate_key_is_an_error_on_its_line_and_the_first_value_wins() -> None:
    root, errors = load("a:\n  b: 1\n  b: 2\n")
    assert [str(i) for i in errors.issues] == ["f.yaml:3: a.b: duplicate key (first on line 2)"]
    assert root.value["a"].value["b"].value == 1


def test_a_syntax_error_is_located() -> None:
    errors = Errors("f.yaml")
    assert load_nodes("a: 1\nb: [unclosed\n", "f.yaml", errors) is None
    [issue] = errors.issues
    assert (issue.file, issue.line, issue.key) == ("f.yaml", 3, "(yaml)")


def test_unknown_keys_get_a_did_you_mean() -> None:
    root, errors = load()
    check_keys(root.value["top"], ("name", "count", "words", "one"), "top", errors)
    check_keys(root, ("top", "others"), "", errors)
    assert [str(i) for i in errors.issues] == [
        "f.yaml:6: other: unknown key (did you mean 'others'?)"
    ]
    check_keys(root, ("top",), "", errors)
    assert str(errors.issues[-1]) == "f.yaml:6: other: unknown key"


def test_errors_sort_by_line_and_list_one_per_line() -> None:
    errors = Errors("f.yaml")
    errors.add(Node(1, 5), "b", "second")
    errors.add(None, "a", "first")  # no node: line 1
    errors.warn(Node(1, 2), "c", "costly")
    assert [str(w) for w in errors.warnings] == ["f.yaml:2: c: warning: costly"]
    with pytest.raises(ConfigError) as info:
        errors.raise_if_any()
    assert str(info.value) == "f.yaml:1: a: first\nf.yaml:5: b: second"
    Errors("f.yaml").raise_if_any()  # nothing to raise


def test_the_reader_converts_or_records_a_located_error() -> None:
    root, errors = load()
    top = Reader(root.value["top"], "top", errors)
    assert top.get("count", positive_int, 1, "a count") == 3
    assert top.get("missing", positive_int, 7, "a count") == 7
    assert top.get("name", positive_int, 1, "a count") == 1  # recorded, default kept
    assert top.require("name", as_str, "a name") == "gate"
    assert top.require("absent", as_str, "a name") is None
    assert top.require("count", as_str, "a name") is None
    assert [str(i) for i in errors.issues] == [
        "f.yaml:2: top.name: expected a count, got 'gate'",
        "f.yaml:2: top.absent: required (a name)",
        "f.yaml:3: top.count: expected a name, got 3",
    ]


def test_strings_accept_one_string_or_a_list_and_locate_bad_items() -> None:
    root, errors = load("top:\n  words: [a, 2, '']\n  one: solo\n  map: {x: 1}\n")
    top = Reader(root.value["top"], "top", errors)
    words = top.strings("words", ())
    assert words is not None and [w for w, _ in words] == ["a"]
    one = top.strings("one", ())
    assert one is not None and [w for w, _ in one] == ["solo"]
    default = top.strings("absent", ("d",))
    assert default is not None and [w for w, _ in default] == ["d"]
    assert top.strings("map", ()) is None
    assert [str(i) for i in errors.issues[:2]] == [
        "f.yaml:2: top.words[1]: expected a string, got 2",
        "f.yaml:2: top.words[2]: expected a string, got ''",
    ]
    # The message shows the mapping's nodes, not its plain value (noted, not changed here).
    assert str(errors.issues[2]).startswith("f.yaml:4: top.map: expected a list of strings, got {")


@pytest.mark.parametrize(
    ("convert", "value", "result"),
    [
        (positive_int, 0, 0),
        (positive_int, -1, ValueError),
        (positive_int, True, ValueError),  # YAML's `yes` is no number
        (positive_int, "3", ValueError),
        (as_bool, False, False),
        (as_bool, "false", TypeError),
        (as_str, "x", "x"),
        (as_str, 1, TypeError),
        (choice("a", "b"), "b", "b"),
        (choice("a", "b"), "c", ValueError),
        (positive_duration, "500ms", 0.5),
        (positive_duration, "30m", 1800.0),
        (positive_duration, "2h", 7200.0),
        (positive_duration, "1d", 86400.0),
        (positive_duration, 2, 2.0),
        (positive_duration, 0, ValueError),
    ],
)
def test_converters(convert: object, value: object, result: object) -> None:
    assert callable(convert)
    if isinstance(result, type) and issubclass(result, Exception):
        with pytest.raises(result):
            convert(value)
    else:
        assert convert(value) == result


def test_mapping_accepts_mappings_and_nothing_else() -> None:
    errors = Errors("f.yaml")
    node = Node({"a": Node(1, 2)}, 1)
    assert mapping(node, "k", errors) is node
    assert mapping(None, "k", errors) is None
    assert mapping(Node(None, 3), "k", errors) is None
    assert mapping(Node([1], 4), "k", errors) is None
    assert errors.issues == [ConfigIssue("f.yaml", 4, "k", "expected a mapping, got [1]")]


def _laughs(levels: int) -> str:
    """Aliases of aliases: 10**levels values in the document's meaning, a few lines of text."""
    lines = ["x0: &x0 [a, a, a, a, a, a, a, a, a, a]"]
    lines += [f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_aliases_are_read_once_not_expanded_per_use() -> None:
    # A billion values in 1 KiB of text: read in the time of the text, as PyYAML's own
    # safe_load reads it (every use of an alias is the one value).
    root, errors = load(_laughs(10))
    assert errors.issues == []
    top = root.value["x9"].value
    assert len(top) == 10 and top[0] is top[9]
    assert top[0].value[0].value[0].value[0] is root.value["x6"].value[0]


@pytest.mark.parametrize(
    "text",
    [
        "a: &a [*a]\n",  # an alias inside its own anchor
        "a: &a {b: *a}\n",
        "a: " + "[" * 5000 + "]" * 5000 + "\n",  # past Python's recursion limit
    ],
    ids=["self-list", "self-mapping", "deep"],
)
def test_a_document_nested_without_end_is_a_located_error_not_a_traceback(text: str) -> None:
    errors = Errors("f.yaml")
    assert load_nodes(text, "f.yaml", errors) is None
    [issue] = errors.issues
    assert (issue.line, issue.key) == (1, "(yaml)")
    assert "nested too deeply" in issue.message
