"""`/_gateway/state`: what this process believes about the Customer Portal, and why, as JSON.

The one place ops can tell "staff turned it off" from "we cannot read the store": the
effective state, its cause (gateway/settings/policy.py), what the store last said and when,
and which build, config and process says so. `portal-gateway status --gateway URL` prints it.
"""

from __future__ import annotations

from typing import Any

from gateway import __version__
from gateway.config import Config
from gateway.settings.state import PortalState
from gateway.wire.values import rfc3339


def _word(enabled: bool | None) -> str | None:
    return None if enabled is None else ("enabled" if enabled else "disabled")


def state_document(
    portal: PortalState, config: Config, worker: int, self_check: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON object `/_gateway/state` answers; every time RFC 3339 UTC, or null.

    No secret is in it: `last_error` is the poller's message, whose source is already masked.
    """
    return {
        "effective": _word(portal.enabled),
        "cause": portal.cause,
        "store_value": _word(portal.store_value),
        "store_changed_at": rfc3339(portal.store_changed_at),
        "last_read_at": rfc3339(portal.last_read_at),
        "last_success_at": rfc3339(portal.last_success_at),
        "last_error": portal.last_error,
        "last_disabled_at": rfc3339(portal.last_disabled_at),
        "override": None,  # the operator controls' (not yet)
        # Per check: ok, at, detail (None without customer_portal.self_check).
        "self_check": self_check,
        # `enforce`, or `shadow`: nothing refused for the portal's sake (README "Shadow mode").
        "mode": config.customer_portal.mode,
        "version": __version__,
        "config_digest": config.digest,
        "worker": worker,
    }
