"""One atomic file write for the small files the gateway and its commands keep (the state
file, the operators' control file)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: str, text: str, mode: int | None = None) -> None:
    """Write `text` to `path` so that a reader sees the old file or the new one, never a part:
    a temporary file in the same directory, fsynced, then renamed over the target. `mode`
    (e.g. 0o644) is set on the temporary file before anything is written; None keeps
    mkstemp's owner-only 0600. A failure removes the temporary file and raises."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
