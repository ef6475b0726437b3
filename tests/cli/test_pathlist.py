"""The files `routes` reads: lists of `[METHOD] PATH` lines, or OpenAPI documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli.pathlist import PathsError, parse_list, read_against, read_ignores


def listed(text: str) -> list[tuple[str, str, str]]:
    return [(e.method or "*", e.target, e.where) for e in parse_list(text, "p.txt")]


def problems(text: str) -> list[str]:
    with pytest.raises(PathsError) as info:
        parse_list(text, "p.txt")
    return list(info.value.problems)


def test_a_list_has_a_path_a_line_optionally_after_a_method() -> None:
    text = (
        "# the upstream's routes\n"
        "\n"
        "POST /payments\n"
        "  get   /users/{id}   # a template, and a comment\n"
        "/help\n"
        "* /any\n"
        "DELETE https://office.example.com/courses/{course}\n"
    )
    assert listed(text) == [
        ("POST", "/payments", "p.txt:3"),
        ("GET", "/users/1", "p.txt:4"),
        ("*", "/help", "p.txt:5"),
        ("*", "/any", "p.txt:6"),
        ("DELETE", "https://office.example.com/courses/1", "p.txt:7"),
    ]


def test_every_bad_line_is_reported_at_once() -> None:
    text = "POST /a b\nPO(ST /a\npayments\nGET ftp://x/y\nGET https:///nohost\n/ok\n"
    assert problems(text) == [
        "p.txt:1: expected [METHOD] PATH, got 'POST /a b'",
        "p.txt:2: expected a method (POST) or *, got 'PO(ST'",
        "p.txt:3: expected a path starting with '/' or an http(s) URL, got 'payments'",
        "p.txt:4: expected a path starting with '/' or an http(s) URL, got 'ftp://x/y'",
        "p.txt:5: expected a path starting with '/' or an http(s) URL, got 'https:///nohost'",
    ]


def test_against_reads_a_list_json_or_yaml_by_what_the_file_holds(tmp_path: Path) -> None:
    doc = {"openapi": "3.0.0", "paths": {"/pay": {"post": {}}}}
    (tmp_path / "api.json").write_text("  " + json.dumps(doc))
    (tmp_path / "api.txt").write_text("# not yaml: a list\nPOST /pay\n")
    (tmp_path / "openapi.yml").write_text("# spec\nopenapi: 3.0.0\npaths:\n  /pay:\n    post: {}\n")
    (tmp_path / "quoted.yml").write_text("'openapi': '3.0.0'\n'paths': {'/pay': {'post': {}}}\n")
    (tmp_path / "bom.json").write_text("\ufeff" + json.dumps(doc), encoding="utf-8")
    for name in ("api.json", "api.txt", "openapi.yml", "quoted.yml", "bom.json"):
        [endpoint] = read_against(str(tmp_path / name))
        assert (endpoint.method, endpoint.target) == ("POST", "/pay"), name


def test_against_lists_each_endpoint_once(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("POST /pay\n/pay\nPOST /pay\n")
    assert [(e.method, e.where) for e in read_against(str(tmp_path / "p.txt"))] == [
        ("POST", f"{tmp_path}/p.txt:1"),
        (None, f"{tmp_path}/p.txt:2"),
    ]


def test_an_empty_against_file_is_an_error_an_empty_ignore_file_is_not(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n")
    with pytest.raises(PathsError) as info:
        read_against(str(empty))
    assert info.value.problems == (f"{empty}:1: no paths listed",)
    assert read_ignores(str(empty)) == []


def test_unreadable_files_and_bad_documents(tmp_path: Path) -> None:
    with pytest.raises(PathsError) as info:
        read_against(str(tmp_path / "missing.txt"))
    assert info.value.problems == (
        f"{tmp_path}/missing.txt: cannot read: No such file or directory",
    )
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe/pay\n")
    with pytest.raises(PathsError) as info:
        read_ignores(str(binary))
    assert info.value.problems == (f"{binary}: not UTF-8 text",)
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.0.0\npaths:\n  /a: [\n")
    with pytest.raises(PathsError) as info:
        read_against(str(broken))
    [problem] = info.value.problems
    assert problem.startswith(f"{broken}:") and ": (yaml): " in problem


@pytest.mark.parametrize(
    "text",
    [
        'openapi: "3.0.0"\npaths: &p\n  /pay: *p\n',
        'openapi: "3.0.0"\npaths:\n  /pay: ' + "[" * 5000 + "]" * 5000 + "\n",
    ],
    ids=["alias-in-itself", "deep"],
)
def test_an_openapi_document_without_end_is_a_located_error(tmp_path: Path, text: str) -> None:
    spec = tmp_path / "api.yaml"
    spec.write_text(text)
    with pytest.raises(PathsError) as info:
        read_against(str(spec))
    [problem] = info.value.problems
    assert problem.startswith(f"{spec}:1: (yaml): nested too deeply")


def test_ignore_reads_lists_only(tmp_path: Path) -> None:
    spec = tmp_path / "ignore.json"
    spec.write_text('{"openapi": "3.0.0"}')
    with pytest.raises(PathsError) as info:
        read_ignores(str(spec))
    assert info.value.problems == (
        f"""{spec}:1: expected a method (POST) or *, got '{{"openapi":'""",
    )
