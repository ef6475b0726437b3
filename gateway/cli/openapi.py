"""An OpenAPI 3 document (JSON or YAML) -> the endpoints `portal-gateway routes` classifies.

Each operation under `paths` is one endpoint per server: `servers[].url` (the operation's,
else its path item's, else the document's; `/` when none) is prefixed, its variables filled
with their defaults, and a path template (`{id}`) becomes a sample segment. A server URL with
a host keeps it, so the path is classified on that host, as a request to it would be.
"""

from __future__ import annotations

import re

from gateway.config.yamlnodes import Errors, Node
from gateway.policy.lint import Endpoint

OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SAMPLE = "1"  # what a path template (`{id}`) is classified as
_TEMPLATE = re.compile(r"\{[^{}]*\}")
_ABSOLUTE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)([^?#]*)")


def fill_templates(path: str) -> str:
    """`/users/{id}/pay` -> `/users/1/pay`: a segment any route that serves the path accepts."""
    return _TEMPLATE.sub(SAMPLE, path)


def _mapping(node: Node | None) -> dict[str, Node]:
    return node.value if node is not None and isinstance(node.value, dict) else {}


def _server_url(server: Node, key: str, errors: Errors) -> str | None:
    fields = _mapping(server)
    url = fields.get("url")
    if url is None or not isinstance(url.value, str):
        errors.add(server, f"{key}.url", "required: the server's URL (a string)")
        return None
    variables = _mapping(fields.get("variables"))

    def fill(match: re.Match[str]) -> str:
        name = match.group(0)[1:-1]
        default = _mapping(variables.get(name)).get("default")
        if default is None or not isinstance(default.value, str):
            errors.add(url, f"{key}.url", f"variable {{{name}}} has no default (a string)")
            return match.group(0)
        return default.value

    return _TEMPLATE.sub(fill, url.value)


def _base(url: str, node: Node, key: str, errors: Errors) -> str | None:
    """The prefix a server puts before each path: `https://host/v1`, `/v1`, or nothing."""
    if url.startswith("//"):
        url = "http:" + url  # a network-path reference (`//host/v1`) names its host
    absolute = _ABSOLUTE.match(url)
    if absolute is not None:
        scheme, authority, path = absolute.groups()
        if scheme.lower() not in ("http", "https") or not authority:
            errors.add(node, f"{key}.url", f"expected an http(s) URL or a path, got {url!r}")
            return None
        return f"{scheme.lower()}://{authority}{path.rstrip('/')}"
    if url.startswith("/") or url == "":
        return url.split("?", 1)[0].rstrip("/")
    errors.add(node, f"{key}.url", f"a relative server URL starts with '/', got {url!r}")
    return None


def _bases(node: Node | None, key: str, errors: Errors) -> list[str] | None:
    """The bases a `servers` list names; None where there is none (the outer one applies)."""
    if node is None or node.value is None:
        return None
    if not isinstance(node.value, list):
        errors.add(node, key, f"expected a list of servers, got {node.value!r}")
        return None
    out = []
    for i, server in enumerate(node.value):
        url = _server_url(server, f"{key}[{i}]", errors)
        base = None if url is None else _base(url, server, f"{key}[{i}]", errors)
        if base is not None and base not in out:
            out.append(base)
    return out or None


def _check_version(root: Node, errors: Errors) -> bool:
    fields = _mapping(root)
    if "openapi" not in fields:
        said = "Swagger 2.0 is not read, convert it to OpenAPI 3" if "swagger" in fields else ""
        errors.add(root, "openapi", said or "required: an OpenAPI 3 document has openapi: 3.x")
        return False
    version = fields["openapi"]
    # `openapi: 3.1` unquoted is a float to YAML: still the version it spells.
    value = version.value
    spelled = (
        str(value) if isinstance(value, float | int) and not isinstance(value, bool) else value
    )
    if not isinstance(spelled, str) or not spelled.startswith("3."):
        errors.add(version, "openapi", f"expected 3.x, got {version.value!r}")
        return False
    return True


def openapi_endpoints(root: Node, file: str, errors: Errors) -> list[Endpoint]:
    """Every (method, target) the document's operations name, with the line each is on."""
    if not isinstance(root.value, dict):
        errors.add(root, "(document)", "expected an OpenAPI document (openapi:, paths:)")
        return []
    if not _check_version(root, errors):
        return []
    paths = root.value.get("paths")
    if paths is None or not isinstance(paths.value, dict) or not paths.value:
        errors.add(paths or root, "paths", "required: a mapping of the upstream's paths")
        return []
    top = _bases(root.value.get("servers"), "servers", errors) or [""]
    out: list[Endpoint] = []
    for path, item in paths.items():
        key = f"paths.{path}"
        line = paths.key_lines.get(path, item.line)
        if not path.startswith("/"):
            errors.add(Node(None, line), key, f"a path starts with '/', got {path!r}")
            continue
        if not isinstance(item.value, dict):
            errors.add(item, key, f"expected a path item (a mapping), got {item.value!r}")
            continue
        inherited = _bases(item.value.get("servers"), f"{key}.servers", errors) or top
        operations = [(m, op) for m, op in item.items() if m in OPERATIONS]
        target = fill_templates(path)
        if not operations:  # a `$ref` only, say: every method
            out += [Endpoint(None, base + target, f"{file}:{line}") for base in inherited]
        for method, operation in operations:
            if not isinstance(operation.value, dict):
                errors.add(operation, f"{key}.{method}", "expected an operation (a mapping)")
                continue
            servers = operation.value.get("servers")
            bases = _bases(servers, f"{key}.{method}.servers", errors) or inherited
            where = f"{file}:{item.key_lines.get(method, operation.line)}"
            out += [Endpoint(method.upper(), base + target, where) for base in bases]
    return out
