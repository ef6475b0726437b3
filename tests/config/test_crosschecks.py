"""Checks across keys: listeners that clash."""

from __future__ import annotations

import pytest

from gateway.config.crosschecks import listener_clash


@pytest.mark.parametrize(
    ("listen", "admin", "clash"),
    [
        (("127.0.0.1", 8080), ("127.0.0.1", 8081), None),
        (("127.0.0.1", 0), ("127.0.0.1", 0), None),  # two free ports
        (("127.0.0.1", 8080), ("127.0.0.2", 8080), None),
        (("example.com", 8080), ("other.example", 8080), None),
        (
            ("Example.com", 8080),
            ("example.COM", 8080),
            "example.COM:8080 is the address of listen (Example.com:8080); the reserved "
            "endpoints need a listener of their own (another port)",
        ),
        (
            ("localhost", 8080),
            ("::1", 8080),
            "[::1]:8080 is the address of listen (localhost:8080); the reserved endpoints "
            "need a listener of their own (another port)",
        ),
        (
            ("::", 9000),
            ("10.0.0.5", 9000),
            "10.0.0.5:9000 overlaps listen ([::]:9000): :: is every address, so both would "
            "take port 9000; use another port",
        ),
        (
            ("10.0.0.5", 9000),
            ("0.0.0.0", 9000),
            "0.0.0.0:9000 overlaps listen (10.0.0.5:9000): 0.0.0.0 is every address, so both "
            "would take port 9000; use another port",
        ),
    ],
)
def test_listener_clash(listen: tuple[str, int], admin: tuple[str, int], clash: str | None) -> None:
    assert listener_clash(listen, admin) == clash
