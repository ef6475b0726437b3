"""OpenAPI 3 documents -> endpoints: servers prefixed, templates filled, each at its line."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from gateway.cli.jsonnodes import load_json_nodes
from gateway.cli.openapi import fill_templates, openapi_endpoints
from gateway.config.yamlnodes import Errors, load_nodes

Doc = dict[str, Any]


def read(doc: Doc | str, form: str = "yaml") -> tuple[list[tuple[str, str, str]], list[str]]:
    """(method, target, line) per endpoint, and the errors, from YAML or JSON text."""
    file = f"api.{form}"
    if isinstance(doc, str):
        text = doc
    else:
        text = json.dumps(doc, indent=2) if form == "json" else yaml.safe_dump(doc, sort_keys=False)
    errors = Errors(file)
    root = load_json_nodes(text, errors) if form == "json" else load_nodes(text, file, errors)
    assert root is not None
    found = openapi_endpoints(root, file, errors)
    return (
        [(e.method or "*", e.target, e.where.removeprefix(f"{file}:")) for e in found],
        [str(i) for i in errors.issues],
    )


def test_templates_become_a_sample_segment() -> None:
    assert fill_templates("/users/{id}/files/{name}.json") == "/users/1/files/1.json"
    assert fill_templates("/plain") == "/plain"


YAML_DOC = """\
openapi: 3.0.3
servers:
  - url: https://portal.example.com/api/
  - url: /v{major}
    variables:
      major: {default: "2"}
paths:
  /payments:
    post: {}
    get: {}
  /users/{id}/enroll:
    servers: [{url: https://office.example.com}]
    put:
      summary: staff only
    delete:
      servers: [{url: /}]
  /shared:
    $ref: "#/components/pathItems/Shared"
"""


def test_each_operation_for_each_server_with_the_line_it_is_on() -> None:
    endpoints, errors = read(YAML_DOC)
    assert errors == []
    assert endpoints == [
        ("POST", "https://portal.example.com/api/payments", "9"),
        ("POST", "/v2/payments", "9"),
        ("GET", "https://portal.example.com/api/payments", "10"),
        ("GET", "/v2/payments", "10"),
        ("PUT", "https://office.example.com/users/1/enroll", "13"),  # the path item's servers
        ("DELETE", "/users/1/enroll", "15"),  # the operation's
        ("*", "https://portal.example.com/api/shared", "17"),  # no operation: every method
        ("*", "/v2/shared", "17"),
    ]


def test_json_reads_the_same_with_its_own_lines() -> None:
    doc = yaml.safe_load(YAML_DOC)
    endpoints, errors = read(doc, "json")
    assert errors == []
    assert [(m, t) for m, t, _ in endpoints] == [(m, t) for m, t, _ in read(YAML_DOC)[0]]
    text = json.dumps(doc, indent=2).splitlines()
    assert [int(line) for _, _, line in endpoints][:1] == [text.index('      "post": {},') + 1]


def test_without_servers_paths_are_as_written() -> None:
    endpoints, _ = read({"openapi": "3.1.0", "paths": {"/cart": {"post": {}, "summary": "x"}}})
    assert endpoints == [("POST", "/cart", "4")]


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        (
            {"swagger": "2.0", "paths": {}},
            "openapi: Swagger 2.0 is not read, convert it to OpenAPI 3",
        ),
        ({"paths": {"/a": {}}}, "openapi: required: an OpenAPI 3 document has openapi: 3.x"),
        ({"openapi": "2.0", "paths": {"/a": {}}}, "openapi: expected 3.x, got '2.0'"),
        ({"openapi": "3.0.0"}, "paths: required: a mapping of the upstream's paths"),
        ({"openapi": "3.0.0", "paths": {}}, "paths: required: a mapping of the upstream's paths"),
        (
            {"openapi": "3.0.0", "paths": {"pay": {"post": {}}}},
            "paths.pay: a path starts with '/', got 'pay'",
        ),
        (
            {"openapi": "3.0.0", "paths": {"/pay": ["post"]}},
            "paths./pay: expected a path item (a mapping), got ",
        ),
        (
            {"openapi": "3.0.0", "paths": {"/pay": {"post": "yes"}}},
            "paths./pay.post: expected an operation (a mapping)",
        ),
        (
            {"openapi": "3.0.0", "servers": {"url": "/"}, "paths": {"/a": {}}},
            "servers: expected a list of servers, got ",
        ),
        (
            {"openapi": "3.0.0", "servers": [{"description": "x"}], "paths": {"/a": {}}},
            "servers[0].url: required: the server's URL (a string)",
        ),
        (
            {"openapi": "3.0.0", "servers": [{"url": "https://{host}/v1"}], "paths": {"/a": {}}},
            "servers[0].url: variable {host} has no default (a string)",
        ),
        (
            {
                "openapi": "3.0.0",
                "servers": [{"url": "ftp://files.example.com"}],
                "paths": {"/a": {}},
            },
            "servers[0].url: expected an http(s) URL or a path, got 'ftp://files.example.com'",
        ),
        (
            {"openapi": "3.0.0", "servers": [{"url": "v1"}], "paths": {"/a": {}}},
            "servers[0].url: a relative server URL starts with '/', got 'v1'",
        ),
    ],
)
def test_a_bad_document_is_a_located_error(doc: Doc, problem: str) -> None:
    _, errors = read(doc)
    assert len(errors) == 1, errors
    assert errors[0].startswith("api.yaml:") and problem in errors[0]


def test_every_error_is_reported_with_its_line() -> None:
    text = "openapi: 3.0.0\npaths:\n  pay: {}\n  /b: nope\n"
    _, errors = read(text)
    assert errors == [
        "api.yaml:3: paths.pay: a path starts with '/', got 'pay'",
        "api.yaml:4: paths./b: expected a path item (a mapping), got 'nope'",
    ]


def test_a_document_that_is_no_mapping() -> None:
    _, errors = read("- openapi\n")
    assert errors == ["api.yaml:1: (document): expected an OpenAPI document (openapi:, paths:)"]


def test_a_version_yaml_reads_as_a_number_is_still_the_version() -> None:
    # `openapi: 3.1` unquoted is a float to YAML; the document still says which version.
    endpoints, errors = read("openapi: 3.1\npaths:\n  /pay:\n    post: {}\n")
    assert (endpoints, errors) == ([("POST", "/pay", "4")], [])
    _, errors = read("openapi: 2.0\npaths:\n  /pay:\n    post: {}\n")
    assert errors == ["api.yaml:1: openapi: expected 3.x, got 2.0"]


def test_a_server_url_without_a_scheme_names_its_host() -> None:
    # `//host/v1`, a network-path reference, is that host: not a path starting with `//`.
    doc = {"openapi": "3.0.3", "servers": [{"url": "//office.example.com/v1/"}]}
    endpoints, errors = read({**doc, "paths": {"/pay": {"post": {}}}})
    assert errors == []
    assert endpoints == [("POST", "http://office.example.com/v1/pay", "6")]
