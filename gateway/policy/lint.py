"""Route lint: the upstream's own paths through the gate's classification, and the ones to doubt.

`portal-gateway routes` (gateway/cli/routes.py) hands in every (method, target) the upstream
serves; each goes through `classify()`, the very function the proxy, forward-auth and the
plugin route with, so the table can never disagree with what the gate does. A path whose words
suggest a customer action (a login, a payment, an enrollment) is doubted when the route it
falls to lets it through while staff have the Customer Portal off: a `public` route, or an
`office` route that serves every host, customers' included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from urllib.parse import unquote

from gateway.config import Config, Route
from gateway.policy.classify import Refused, classify
from gateway.policy.facts import RequestFacts
from gateway.wire import hosts
from gateway.wire.paths import PathRejected, canonicalize

# A host no `hosts:` pattern names (RFC 2606 reserves .invalid): what a path is classified
# under when neither its line nor `--host` names a host.
ANY_HOST = "any-host.invalid"

# Standard methods, in the order one is picked to stand for "every method no route names".
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "PROPFIND", "LINK")

# The customer actions of an enrollment portal, each with the forms of it a path spells.
_ACTIONS: dict[str, tuple[str, ...]] = {
    "login": ("login", "logins", "logon", "signin"),
    "session": ("session", "sessions"),
    "enroll": ("enroll", "enrol", "enrolls", "enrols", "enrolled", "enrolling", "enrollment",
               "enrolment", "enrollments", "enrolments", "enrollee", "enrollees"),
    "drop": ("drop", "drops", "dropped", "dropping"),
    "transfer": ("transfer", "transfers", "transferred", "transferring"),
    "pay": ("pay", "pays", "paid", "paying", "payment", "payments", "payer", "payee", "payees"),
    "checkout": ("checkout", "checkouts"),
    "cart": ("cart", "carts"),
    "account": ("account", "accounts"),
}  # fmt: skip
_FORMS = {form: action for action, forms in _ACTIONS.items() for form in forms}
# Words: runs of letters, split at camelCase humps (`myAccount`, `PayNow`).
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


@dataclass(frozen=True)
class Endpoint:
    """One line of the upstream's list: a method (None: any) and a target, where it was read."""

    method: str | None
    target: str  # origin form (`/pay`) or absolute (`https://office.example.com/pay`)
    where: str  # FILE:LINE


@dataclass(frozen=True)
class Row:
    """How the gate classifies one endpoint for one method (`*`: every method not listed)."""

    endpoint: Endpoint
    method: str
    route: Route | None
    refusal: str | None = None  # `404: no route matches` when no route serves it


@dataclass(frozen=True)
class Finding:
    row: Row
    action: str  # the customer action the path's words suggest
    message: str


def action_words(target: str) -> tuple[str, ...]:
    """The customer actions a target's path spells, as whole words or two words run together.

    `/api/payments`, `/log-in` and `/myAccount` count; `/display`, `/carton`, `/dropdown` and
    `/paypal` do not: a word must be one of the forms above, never a part of a longer one.
    """
    path = target.split("?", 1)[0]
    if "://" in path:
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    words = [w.lower() for w in _WORD.findall(unquote(path))]
    found: list[str] = []
    candidates = [*words, *(a + b for a, b in pairwise(words))]
    for word in candidates:
        action = _FORMS.get(word)
        if action is not None and action not in found:
            found.append(action)
    return tuple(found)


def default_host(config: Config) -> str:
    """The host a path without one is classified on: the first literal `server_names` entry
    (any other host gets 421), else one that no route's `hosts:` names."""
    return next((n for n in config.server_names if not n.startswith("*.")), ANY_HOST)


def _facts(method: str, target: str, host: str) -> RequestFacts:
    # An absolute target carries its own host, as an absolute-form request line does.
    absolute = "://" in target
    return RequestFacts(
        method=method,
        target=target,
        host_lines=() if absolute else (host,),
        cookie_lines=(),
        accept="",
        client_ip="",
        secure=False,
        started_at=0.0,
        http_version=(1, 1),
    )


def _route(config: Config, method: str, target: str, host: str) -> tuple[Route | None, str | None]:
    try:
        return classify(_facts(method, target, host), config).route, None
    except Refused as exc:
        return None, f"{exc.status}: {exc.reason}"


def other_method(routes: Sequence[Route]) -> str:
    """A method no route's `methods:` names: it stands for all of them (they route alike)."""
    named = {m for r in routes for m in r.methods or ()}
    return next((m for m in _METHODS if m not in named), "X-" + "-".join(sorted(named)))


def classify_endpoint(endpoint: Endpoint, config: Config, host: str) -> list[Row]:
    """One row for a method; for any method, `*` and then each named method routed otherwise."""
    if endpoint.method is not None:
        return [
            Row(endpoint, endpoint.method, *_route(config, endpoint.method, endpoint.target, host))
        ]
    anyone = Row(endpoint, "*", *_route(config, other_method(config.routes), endpoint.target, host))
    rows = [anyone]
    for method in sorted({m for r in config.routes for m in r.methods or ()}):
        row = Row(endpoint, method, *_route(config, method, endpoint.target, host))
        if (row.route, row.refusal) != (anyone.route, anyone.refusal):
            rows.append(row)
    return rows


def _doubt(row: Row, action: str) -> str | None:
    route = row.route
    if route is None:
        return None  # the gateway answers it itself: nothing reaches the upstream
    # SECURITY: these two portals pass whatever staff's setting says. A customer action behind
    # one of them is open to customers while the Customer Portal is disabled.
    if route.portal == "public":
        passes = "always passes, even while the Customer Portal is disabled"
    elif route.portal == "office" and not route.hosts:
        passes = (
            "passes untouched on every host, customers' included, even while the Customer "
            "Portal is disabled (an office route with no hosts:)"
        )
    else:
        return None
    return (
        f"{row.method} {row.endpoint.target}: {action!r} suggests a customer action, but route "
        f"{route.name!r} (portal: {route.portal}) {passes}"
    )


def findings(rows: Iterable[Row]) -> list[Finding]:
    """Every row whose path suggests a customer action and whose route lets it through."""
    out = []
    for row in rows:
        for action in action_words(row.endpoint.target):
            message = _doubt(row, action)
            if message is not None:
                out.append(Finding(row, action, message))
                break  # one warning per row: the first action its path spells
    return out


def _where(target: str) -> tuple[str | None, tuple[str, ...]] | str:
    """What an accepted line is compared on: the host (if named) and the canonical segments."""
    try:
        canonical = canonicalize(target, escaped_slashes="keep")
    except PathRejected:
        return target  # the gate refuses it anyway: compared as written
    segments = canonical.segments
    if segments and segments[-1] == "":
        segments = segments[:-1]
    authority = canonical.authority
    return (None if authority is None else hosts.canonical_host(authority), segments)


def accepts(accepted: Endpoint, row: Row) -> bool:
    """True when an `--ignore` line covers this row: its method (or none) and its path, on any
    host unless the line names one; case, escapes and a final `/` do not tell paths apart."""
    if accepted.method is not None and accepted.method != row.method:
        return False
    mine, theirs = _where(accepted.target), _where(row.endpoint.target)
    if isinstance(mine, str) or isinstance(theirs, str):
        return mine == theirs
    return mine[1] == theirs[1] and (mine[0] is None or mine[0] == theirs[0])
