"""One gateway's reads of the control file: refusals logged at a bounded rate and ignored as a
whole, the preview generation never going back, and the audit line once per override."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from gateway.policy.preview import PreviewCodec
from gateway.settings.control import Control, Override, save_control
from gateway.settings.controlfeed import ControlFeed, audit_line

DOWN = Override("disable", 1_800_000_600.0, "billing run", "Back soon", "alice", 1_800_000_000.0)


def lines(caplog: pytest.LogCaptureFixture, word: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if word in r.getMessage()]


def test_the_audit_line_names_who_when_why_and_until() -> None:
    assert audit_line(DOWN) == (
        "override disable by alice at 2027-01-15T08:00:00.000Z until "
        "2027-01-15T08:10:00.000Z: billing run (message: Back soon)"
    )


async def test_an_override_is_audited_once_and_its_clearing_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "control.json"
    feed = ControlFeed(str(path))
    caplog.set_level(logging.WARNING, "gateway.settings")
    assert await feed.read(0.0) == Control()
    save_control(str(path), Control(DOWN, 2))
    assert await feed.read(1.0) == Control(DOWN, 2)
    assert await feed.read(2.0) == Control(DOWN, 2)
    assert lines(caplog, "override disable by alice") == [audit_line(DOWN)]
    save_control(str(path), Control(None, 2))
    assert (await feed.read(3.0)).override is None
    assert lines(caplog, "cleared") == ["override disable cleared (by the control file)"]


async def test_a_world_writable_file_is_ignored_logged_once_a_minute_and_keeps_the_generation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "control.json"
    save_control(str(path), Control(None, 5))
    feed = ControlFeed(str(path), every=60.0)
    assert (await feed.read(0.0)).preview_generation == 5
    save_control(str(path), Control(DOWN, 0))  # someone else's write: an override, generation 0
    os.chmod(path, 0o666)  # noqa: S103 - the refused case itself
    caplog.set_level(logging.WARNING, "gateway.settings")
    for now in (10.0, 20.0, 30.0):
        # SECURITY: no override from it, and revoked preview links stay revoked.
        assert await feed.read(now) == Control(None, 5)
    assert feed.error is not None and "world-writable" in feed.error
    refused = lines(caplog, "control file refused")
    assert len(refused) == 1 and "mode 666" in refused[0]
    await feed.read(75.0)
    assert len(lines(caplog, "control file refused")) == 2
    assert "(2 reads since)" in lines(caplog, "control file refused")[1]
    os.chmod(path, 0o644)
    assert await feed.read(80.0) == Control(DOWN, 5)  # accepted again; generation never back
    assert feed.error is None and lines(caplog, "accepted again")


async def test_a_broken_file_is_refused_and_a_missing_one_is_no_control(tmp_path: Path) -> None:
    path = tmp_path / "control.json"
    feed = ControlFeed(str(path))
    assert await feed.read(0.0) == Control()
    path.write_text("{not json")
    os.chmod(path, 0o644)
    assert await feed.read(1.0) == Control()
    assert feed.error is not None and "not a valid control file" in feed.error
    assert await ControlFeed(None).read(0.0) == Control()


@pytest.mark.parametrize("spoil", ["mode", "broken"])
async def test_a_file_refused_from_the_start_revives_no_revoked_link(
    tmp_path: Path, spoil: str
) -> None:
    # Links were revoked (generation 7); this gateway (re)starts while the file is refused.
    # Generation 0 would make every revoked link valid again: no link passes until a good read.
    path = tmp_path / "control.json"
    save_control(str(path), Control(None, 7))
    if spoil == "mode":
        os.chmod(path, 0o664)
    else:
        path.write_text('{"version": 1, "preview_generation": 7, "override": 5}')
    feed = ControlFeed(str(path))
    read = await feed.read(0.0)
    codec = PreviewCodec(b"k" * 32)
    revoked = codec.issue(1e10, 0)
    assert read.override is None
    assert codec.check(revoked, 0.0, read.preview_generation).verdict == "revoked"
    assert codec.check(codec.issue(1e10, 999_999_999), 0.0, read.preview_generation).verdict == (
        "revoked"
    )
    save_control(str(path), Control(None, 7))
    os.chmod(path, 0o644)
    assert await feed.read(1.0) == Control(None, 7)  # a good read: its generation, no higher
