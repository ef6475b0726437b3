"""`customer_portal.schedule`: offsets required, inverted and overlapping windows refused, each
error located; `settings.override_file` and `settings.max_override`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from gateway.config import ConfigError, Window, config_from_text
from gateway.config.schedule import parse_moment
from gateway.settings.control import default_path
from tests.conftest import ENABLED_STORE, config_data, config_yaml

URL = "http://127.0.0.1:8081"
PLUS_ONE = timezone(timedelta(hours=1))


def load(schedule: Any = None, file: str = "test.yaml", **settings: Any) -> Any:
    section = {"source": ENABLED_STORE, "field": "enabled", **settings}
    portal = {} if schedule is None else {"schedule": schedule}
    return config_from_text(config_yaml(config_data(URL, settings=section, portal=portal)), file)


def errors(schedule: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(schedule)
    return [str(issue) for issue in info.value.issues]


def line_of(text: str, needle: str, nth: int = 0) -> int:
    found = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return found[nth]


def test_windows_keep_their_moments_message_and_the_offset_written() -> None:
    config = load(
        [
            {"from": "2026-12-27T08:00:00Z", "to": "2026-12-28T08:00:00Z"},
            {
                "from": datetime(2026, 12, 24, 18, tzinfo=PLUS_ONE),  # YAML's own timestamp
                "to": "2026-12-27T08:00:00+01:00",
                "message": "Closed over the holidays",
            },
        ]
    )
    first, second = config.customer_portal.schedule  # sorted by start
    assert (first.starts, first.ends, first.offset) == (
        datetime(2026, 12, 24, 17, tzinfo=UTC).timestamp(),
        datetime(2026, 12, 27, 7, tzinfo=UTC).timestamp(),
        3600,
    )
    assert first.message == "Closed over the holidays"
    assert (second.offset, second.message) == (0, None)
    assert first.covers(first.starts) and not first.covers(first.ends)
    assert load().customer_portal.schedule == ()


def test_naive_times_dates_and_garbage_are_refused_with_their_line() -> None:
    text = config_yaml(
        config_data(
            URL,
            portal={
                "schedule": [
                    {"from": "2026-12-24T18:00:00", "to": "2026-12-25T18:00:00Z"},
                    {"from": "2026-12-26", "to": "soon"},
                    {"to": "2026-12-29T18:00:00Z"},
                ]
            },
        )
    )
    with pytest.raises(ConfigError) as info:
        config_from_text(text, "gw.yaml")
    expected = "an ISO-8601 time with an offset or Z (2026-12-24T18:00:00+01:00)"
    assert [str(i) for i in info.value.issues] == [
        f"gw.yaml:{line_of(text, '2026-12-24T18:00:00')}: customer_portal.schedule[0].from: "
        f"expected {expected}, got '2026-12-24T18:00:00'",
        f"gw.yaml:{line_of(text, '2026-12-26')}: customer_portal.schedule[1].from: "
        f"expected {expected}, got '2026-12-26'",
        f"gw.yaml:{line_of(text, 'soon')}: customer_portal.schedule[1].to: "
        f"expected {expected}, got 'soon'",
        f"gw.yaml:{line_of(text, '2026-12-29')}: customer_portal.schedule[2].from: "
        f"required ({expected})",
    ]


def test_inverted_overlapping_and_misspelt_windows_are_refused() -> None:
    text = config_yaml(
        config_data(
            URL,
            portal={
                "schedule": [
                    {"from": "2026-12-24T18:00:00Z", "to": "2026-12-24T17:00:00Z"},
                    {"from": "2026-12-20T00:00:00+01:00", "to": "2026-12-22T00:00:00+01:00"},
                    {"from": "2026-12-21T00:00:00+01:00", "to": "2026-12-23T00:00:00+01:00"},
                    {"from": "2026-12-22T00:00:00+01:00", "to": "2026-12-23T00:00:00+01:00"},
                    {"from": "2027-01-01T00:00:00Z", "to": "2027-01-02T00:00:00Z", "mesage": "x"},
                ]
            },
        )
    )
    with pytest.raises(ConfigError) as info:
        config_from_text(text, "gw.yaml")
    start = line_of(text, "schedule:") + 1
    assert [str(i) for i in info.value.issues] == [
        f"gw.yaml:{start + 1}: customer_portal.schedule[0].to: "
        "must be after from (2026-12-24T18:00:00+00:00): inverted",
        f"gw.yaml:{start + 4}: customer_portal.schedule[2]: overlaps the window on line "
        f"{start + 2}",
        f"gw.yaml:{start + 6}: customer_portal.schedule[3]: overlaps the window on line "
        f"{start + 4}",
        f"gw.yaml:{start + 10}: customer_portal.schedule[4].mesage: "
        "unknown key (did you mean 'message'?)",
    ]


def test_a_window_touching_the_next_one_is_no_overlap_and_a_list_is_required() -> None:
    assert (
        len(
            load(
                [
                    {"from": "2026-12-20T00:00:00Z", "to": "2026-12-21T00:00:00Z"},
                    {"from": "2026-12-21T01:00:00+01:00", "to": "2026-12-22T00:00:00Z"},
                ]
            ).customer_portal.schedule
        )
        == 2
    )
    assert errors("tomorrow")[0].endswith(
        "customer_portal.schedule: expected a list of windows (from, to, message), got 'tomorrow'"
    )


def test_parse_moment_needs_an_offset() -> None:
    assert parse_moment("2026-12-24T18:00:00Z").utcoffset() == timedelta(0)
    for bad in ("2026-12-24T18:00:00", datetime(2026, 12, 24), 5):
        with pytest.raises((ValueError, TypeError)):
            parse_moment(bad)


def test_the_control_file_defaults_beside_the_config_and_max_override_reads_durations(
    tmp_path: Path,
) -> None:
    file = str(tmp_path / "gateway.yaml")
    config = load(file=file)
    assert config.settings.override_file == default_path(file)
    assert config.settings.max_override == 24 * 3600
    config = load(override_file="/srv/volume/control.json", max_override="1d")
    assert config.settings.override_file == "/srv/volume/control.json"
    assert config.settings.max_override == 86400
    assert load(max_override="30m").settings.max_override == 1800
    with pytest.raises(ConfigError) as info:
        load(max_override="forever")
    assert str(info.value).endswith(
        'settings.max_override: expected a duration ("30m", "2h", "1d"), at most 3650d, got \'forever\''
    )


def test_a_window_record_has_from_and_to_keys() -> None:
    from gateway.config import yaml_keys

    assert yaml_keys(Window) == ("from", "to", "message")


def test_check_refuses_overlapping_windows_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.cli.main import main

    windows = [
        {"from": "2026-12-20T00:00:00Z", "to": "2026-12-22T00:00:00Z"},
        {"from": "2026-12-21T00:00:00Z", "to": "2026-12-23T00:00:00Z"},
    ]
    file = tmp_path / "gateway.yaml"
    file.write_text(config_yaml(config_data(URL, portal={"schedule": windows})))
    with pytest.raises(SystemExit) as info:
        main(["check", "--config", str(file)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"{file}:" in err and "customer_portal.schedule[1]: overlaps the window on line" in err


@pytest.mark.parametrize("value", [float("inf"), 1e12, "100000000d"])
def test_max_override_past_any_calendar_is_refused(value: Any) -> None:
    # An override or preview link that long ends past what an audit line or status can show:
    # the CLI would write a control file every gateway refuses.
    with pytest.raises(ConfigError) as info:
        load(max_override=value)
    assert 'settings.max_override: expected a duration ("30m", "2h", "1d"), at most 3650d' in str(
        info.value
    )
