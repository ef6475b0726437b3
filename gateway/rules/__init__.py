"""Rules run after routing and before forwarding; one rule per module.

A rule is built once from the config (never parses config at request time) and is handed the
state it needs; at request time it either passes (None) or answers the request itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from gateway.classify import Classified
from gateway.config import Config
from gateway.headers import Headers


@dataclass
class RouteContext:
    """Per-request facts a rule reads, and the upstream headers it may still edit."""

    classified: Classified
    request_id: str
    client_ip: str
    upstream_headers: Headers
    # Callbacks run on the response before it is sent (e.g. to expire a cookie).
    on_response: list[Callable[[web.StreamResponse], Awaitable[None]]]
    # Set by a rule that answered; read by metrics ("customer_disabled", ...).
    reason: str = "forwarded"


class Rule(Protocol):
    """Runs before forwarding. Return None to pass on, or a response to answer here."""

    def __call__(
        self, request: web.Request, ctx: RouteContext, /
    ) -> Awaitable[web.StreamResponse | None]: ...


def build_rules(
    portal_enabled: Callable[[], bool],
    last_disabled_at: Callable[[], float | None],
    config: Config,
    session_key: bytes,
    wall: Callable[[], float],
) -> dict[str, tuple[Rule, ...]]:
    """The rules each kind of route runs, in order. Office and public routes run none."""
    from gateway.rules.portal_gate import PortalGate
    from gateway.rules.session_cookies import SessionStamps

    return {
        # SECURITY: the gate comes first; nothing else runs for a customer while disabled.
        "customer": (
            PortalGate(portal_enabled, config.customer_portal),
            SessionStamps(last_disabled_at, config.customer_portal, session_key, wall=wall),
        ),
        "office": (),
        "public": (),
    }
