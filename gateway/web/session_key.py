"""The key session stamps are encrypted with: the configured one, or a random one per process."""

from __future__ import annotations

import logging
import secrets

from gateway.config import Config


def session_key(config: Config, log: logging.Logger, across: str) -> bytes:
    """`customer_portal.session_key`, or a random key with a warning naming what cannot agree."""
    if config.customer_portal.session_key is not None:
        return config.customer_portal.session_key
    log.warning(
        "no customer_portal.session_key (or PORTAL_GATEWAY_SESSION_KEY): using a random key; "
        "session stamps will not survive a restart or agree across %s",
        across,
    )
    return secrets.token_bytes(32)
