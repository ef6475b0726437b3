"""The files `portal-gateway routes` reads: the upstream's paths, and the ones accepted.

A list has one path a line, optionally after a method (`POST /payments`, `* /help` for any
method), `#` comments and blank lines allowed; a path may be a full http(s) URL, to classify it
on that host, and may hold templates (`/users/{id}`). `--against` may instead be an OpenAPI 3
document: JSON (its first character `{`) or YAML (a top-level `openapi:` key), read by
gateway/cli/openapi.py. Every problem is reported at once, as `FILE:LINE: message`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gateway.cli.jsonnodes import load_json_nodes
from gateway.cli.openapi import fill_templates, openapi_endpoints
from gateway.config.yamlnodes import Errors, load_nodes
from gateway.policy.lint import Endpoint

_METHOD = re.compile(r"^[A-Z][A-Z0-9!#$%&'*+.^_`|~-]*$")
_TARGET = re.compile(r"^(/|https?://[^/?#]+(/|$))", re.IGNORECASE)
_COMMENT = re.compile(r"(^|\s)#.*$")
_YAML_OPENAPI = re.compile(r"^([\"']?)(openapi|swagger)\1\s*:", re.MULTILINE)


class PathsError(Exception):
    """A file that cannot be read or has bad lines; `problems` are `FILE:LINE: message`."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


def _read(file: str) -> str:
    try:
        # utf-8-sig: a byte-order mark some editors write is not part of the first line.
        with open(file, encoding="utf-8-sig") as handle:
            return handle.read()
    except OSError as exc:
        raise PathsError([f"{file}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise PathsError([f"{file}: not UTF-8 text"]) from None


def parse_list(text: str, file: str) -> list[Endpoint]:
    """`[METHOD] PATH` lines -> endpoints; PathsError naming every bad line."""
    out: list[Endpoint] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        words = _COMMENT.sub("", raw).split()
        if not words:
            continue
        if len(words) > 2:
            problems.append(f"{file}:{number}: expected [METHOD] PATH, got {raw.strip()!r}")
            continue
        method = words[0].upper() if len(words) == 2 else "*"
        target = words[-1]
        if method != "*" and not _METHOD.match(method):
            problems.append(f"{file}:{number}: expected a method (POST) or *, got {words[0]!r}")
            continue
        if not _TARGET.match(target):
            problems.append(
                f"{file}:{number}: expected a path starting with '/' or an http(s) URL, "
                f"got {target!r}"
            )
            continue
        out.append(
            Endpoint(None if method == "*" else method, fill_templates(target), f"{file}:{number}")
        )
    if problems:
        raise PathsError(problems)
    return out


def _openapi(text: str, file: str, json_form: bool) -> list[Endpoint]:
    errors = Errors(file)
    root = load_json_nodes(text, errors) if json_form else load_nodes(text, file, errors)
    found = [] if root is None else openapi_endpoints(root, file, errors)
    if errors.issues:
        raise PathsError([str(issue) for issue in sorted(errors.issues, key=lambda i: i.line)])
    return found


def _unique(endpoints: list[Endpoint]) -> list[Endpoint]:
    seen: set[tuple[str | None, str]] = set()
    out = []
    for endpoint in endpoints:
        if (endpoint.method, endpoint.target) not in seen:
            seen.add((endpoint.method, endpoint.target))
            out.append(endpoint)
    return out


def read_against(file: str) -> list[Endpoint]:
    """The upstream's endpoints from a list or an OpenAPI document, each once, in file order."""
    text = _read(file)
    if text.lstrip().startswith("{"):
        endpoints = _openapi(text, file, json_form=True)
    elif _YAML_OPENAPI.search(text):
        endpoints = _openapi(text, file, json_form=False)
    else:
        endpoints = parse_list(text, file)
    if not endpoints:
        raise PathsError([f"{file}:1: no paths listed"])
    return _unique(endpoints)


def read_ignores(file: str) -> list[Endpoint]:
    """The accepted endpoints (`--ignore`): a list, possibly empty."""
    return parse_list(_read(file), file)
