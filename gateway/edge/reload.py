"""SIGHUP: a re-read config becomes the next request's, except what needs a restart."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from gateway.config import Config
from gateway.edge.handler import GATEWAY
from gateway.edge.keys import ACCESS_LOG, EXCHANGES, POLLER, RUNTIME
from gateway.edge.selfcheck import SELF_CHECK
from gateway.policy import Gate
from gateway.policy.runtime import Runtime

# Fixed when the upstream client is built (gateway/edge/lifecycle.py) or the listener starts.
_PROXY_FIXED = (
    "connect_timeout",
    "read_timeout",
    "keepalive_timeout",
    "pool_size",
    "max_connections",
    "max_field_size",
    "header_timeout",
)


def apply_config(app: web.Application, new: Config) -> list[str]:
    """Swap in a re-read config; returns the changes that still need a restart.

    Routes, hosts, the customer portal's page and cookies, the reserved prefix and per-request
    proxy settings apply to the next request, on both listeners. The listeners, the settings
    store, the session key and the upstream client's timeouts and pool keep their running
    values until a restart.
    """
    gateway = app[GATEWAY]
    old = app[RUNTIME].runtime.config
    session_key = gateway.session_key
    later = []
    if (new.listen_host, new.listen_port) != (old.listen_host, old.listen_port):
        later.append("listen")
    if new.admin_listen != old.admin_listen:
        later.append("admin_listen")
    if new.settings != old.settings:
        later.append("settings")
    if new.customer_portal.session_key not in (None, session_key):
        later.append("customer_portal.session_key")
    if any(getattr(new.proxy, name) != getattr(old.proxy, name) for name in _PROXY_FIXED):
        later.append("proxy timeouts and pool")
    # The access log keeps the form it started with (a `--log-format` given at start wins).
    if new.log_format not in (None, app[ACCESS_LOG].format):
        later.append("log_format")
    config = replace(
        new,
        listen_host=old.listen_host,
        listen_port=old.listen_port,
        admin_listen=old.admin_listen,
        settings=old.settings,
        log_format=old.log_format,
        customer_portal=replace(new.customer_portal, session_key=session_key),
    )
    # One attribute store: a request sees the old config and gate or the new ones.
    app[RUNTIME].runtime = Runtime(config, Gate(config, session_key))
    leaves_shadow = old.customer_portal.mode == "shadow" and config.customer_portal.mode != "shadow"
    if leaves_shadow and not app[POLLER].state.enabled:
        # SECURITY: out of shadow mode while disabled is a disable for what shadow mode let in:
        # exchanges still in flight end as at a flip.
        app[EXCHANGES].on_disable(grace=config.proxy.read_timeout)
    app[SELF_CHECK].trigger()  # routes or targets may have changed: prove them again
    if gateway.forwarder is not None:
        gateway.forwarder.proxy = config.proxy
    return later
