"""The typed application keys: what each holds once the app is assembled."""

from __future__ import annotations

from gateway.app import create_app
from gateway.config import config_from_text
from gateway.edge.exchanges import Exchanges
from gateway.edge.keys import (
    ADMIN_APP,
    DRAINING,
    EXCHANGES,
    METRICS,
    POLLER,
    READY,
    RUNTIME,
    SOCKETS,
    UPSTREAM_ERRORS,
    Draining,
)
from gateway.edge.live import LiveConnections
from gateway.settings.poller import Poller
from gateway.web.metrics import GatewayMetrics
from tests.conftest import config_text

CONFIG_VALUE = config_from_text(config_text("http://127.0.0.1:8081"), "t.yaml")


def test_each_key_holds_its_part() -> None:
    app = create_app(CONFIG_VALUE)
    assert app[RUNTIME].runtime.config is CONFIG_VALUE
    assert isinstance(app[METRICS], GatewayMetrics)
    assert isinstance(app[EXCHANGES], Exchanges)
    assert isinstance(app[SOCKETS], LiveConnections)
    assert isinstance(app[POLLER], Poller)
    assert app[READY]() == "first settings read pending"
    assert app[METRICS].connections.keys() == {
        "customer_exchanges",
        "customer_relaying",
        "websocket",
    }
    assert app[UPSTREAM_ERRORS].count == app[METRICS].upstream_error
    assert ADMIN_APP not in app  # only with admin_listen


def test_draining_starts_inactive_and_belongs_to_one_app() -> None:
    first, second = create_app(CONFIG_VALUE), create_app(CONFIG_VALUE)
    first[DRAINING].active = True
    assert first[READY]() == "draining"
    assert second[DRAINING].active is False and Draining.active is False
