"""LiveConnections: each long-lived connection with the coroutine that ends it."""

from __future__ import annotations

import logging

import pytest

from gateway.edge.live import Closer, LiveConnections


async def test_close_all_ends_every_connection_once_even_when_one_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    live = LiveConnections()
    ended: list[str] = []

    def closer(name: str) -> Closer:
        async def close() -> None:
            if name == "broken":
                raise ConnectionResetError
            ended.append(name)

        return close

    live.add(closer("a"))
    live.add(closer("broken"))
    live.add(closer("b"))
    assert len(live) == 3
    with caplog.at_level(logging.ERROR, "gateway.live"):
        assert await live.close_all() == 3
    assert ended == ["a", "b"]  # one broken peer does not keep the others open
    assert [r.getMessage() for r in caplog.records] == ["closing a live connection failed"]
    assert len(live) == 0
    assert await live.close_all() == 0


async def test_a_removed_connection_is_not_closed_and_removing_twice_is_harmless() -> None:
    live = LiveConnections()
    ended: list[int] = []

    async def close() -> None:
        ended.append(1)

    remove = live.add(close)
    keep = live.add(close)
    remove()
    remove()
    assert len(live) == 1
    assert await live.close_all() == 1
    assert ended == [1]
    keep()  # after close_all: nothing left to remove
