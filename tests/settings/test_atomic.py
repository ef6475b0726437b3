"""The atomic write: the whole new file or the old one, its mode, and no leftovers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.settings.atomic import write_atomically


def test_the_new_text_replaces_the_old_with_the_mode_asked(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "f.json"
    write_atomically(str(path), "old")
    assert path.read_text() == "old" and os.stat(path).st_mode & 0o777 == 0o600
    write_atomically(str(path), "new", 0o644)
    assert path.read_text() == "new" and os.stat(path).st_mode & 0o777 == 0o644
    assert sorted(p.name for p in path.parent.iterdir()) == ["f.json"]


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("x")  # a non-empty directory cannot be renamed over
    with pytest.raises(OSError):
        write_atomically(str(target), "text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
