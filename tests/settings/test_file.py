"""The file:// source: JSON or YAML by extension, the path forms, broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import SettingsConfig
from gateway.settings import Reading, SettingsUnavailable, make_source
from gateway.settings.file import file_path


async def read(source: str, field: str = "enabled") -> Reading:
    made = make_source(SettingsConfig(source=source, options={"field": field}))
    try:
        return await made.read()
    finally:
        await made.aclose()


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("file:///srv/portal.yaml", "/srv/portal.yaml"),
        ("file://localhost/srv/portal.yaml", "/srv/portal.yaml"),
        ("file://config/portal.yaml", "config/portal.yaml"),
        ("file:///srv/my%20portal.json", "/srv/my portal.json"),
    ],
)
def test_path_forms(url: str, path: str) -> None:
    assert file_path(url) == Path(path)


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("s.json", '{"portal": {"enabled": "on"}}', True),
        ("s.yaml", "portal:\n  enabled: off\n", False),  # YAML 1.1: off is a boolean
        ("s.yml", "portal: {enabled: 'yes'}\n", True),
        ("settings", '{"portal": {"enabled": 0}}', False),  # no extension: JSON first
        ("settings.conf", "portal:\n  enabled: true\n", True),  # then YAML
    ],
)
async def test_json_or_yaml_by_extension(
    tmp_path: Path, name: str, body: str, expected: bool
) -> None:
    (tmp_path / name).write_text(body)
    reading = await read(f"file://{tmp_path / name}", "portal.enabled")
    assert reading == Reading(expected, None)


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("s.json", "enabled: true", "not valid JSON or YAML"),
        ("s.yaml", "enabled: [true\n", "not valid JSON or YAML"),
        ("s.yaml", "", "field 'enabled' not found"),
        ("s.yaml", "- enabled: true\n", "field 'enabled' not found"),
        ("s.yaml", "enabled: ~\n", "got None"),
    ],
)
async def test_broken_documents_are_read_errors(
    tmp_path: Path, name: str, body: str, message: str
) -> None:
    (tmp_path / name).write_text(body)
    with pytest.raises(SettingsUnavailable, match=message):
        await read(f"file://{tmp_path / name}")


async def test_a_missing_file_or_a_directory_is_a_read_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsUnavailable, match=r"missing\.json: No such file or directory$"):
        await read(f"file://{tmp_path}/missing.json")
    with pytest.raises(SettingsUnavailable, match=r": Is a directory$"):
        await read(f"file://{tmp_path}")


@pytest.mark.parametrize(
    ("name", "stamp", "why"),
    [
        ("s.yaml", ".nan", "nan is not a finite number"),
        ("s.yaml", ".inf", "inf is not a finite number"),
        ("s.yaml", "-.inf", "-inf is not a finite number"),
        ("s.json", "NaN", "nan is not a finite number"),
        ("s.yaml", "-5", "-5 is before 1970"),
        ("s.yaml", "10000-01-01", "10000-01-01' is not a timestamp"),
    ],
)
async def test_a_change_time_that_cannot_date_a_disable_is_a_read_error(
    tmp_path: Path, name: str, stamp: str, why: str
) -> None:
    body = (
        f'{{"enabled": false, "changed_at": {stamp}}}'
        if name.endswith(".json")
        else f"enabled: false\nchanged_at: {stamp}\n"
    )
    (tmp_path / name).write_text(body)
    made = make_source(
        SettingsConfig(
            source=f"file://{tmp_path / name}",
            options={"field": "enabled", "changed_at_field": "changed_at"},
        )
    )
    with pytest.raises(SettingsUnavailable, match=rf": change time .*{why}$"):
        await made.read()


async def test_the_message_field_comes_from_json_or_yaml(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("enabled: off\nmessage: <b>Back</b> at noon\n")
    source = make_source(
        SettingsConfig(
            source=f"file://{path}", options={"field": "enabled", "message_field": "message"}
        )
    )
    try:
        assert await source.read() == Reading(False, None, "<b>Back</b> at noon")
        path.write_text("enabled: off\n")
        assert await source.read() == Reading(False, None, None)
    finally:
        await source.aclose()
