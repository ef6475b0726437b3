"""What the loader asks of the layers around it: a store catalogue and the outside resources.

Config sits below settings and cannot import it; the caller hands these in (see
`gateway.config.loader.parse_config` and `gateway.config.resources`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.config.schema import SettingsConfig


@dataclass(frozen=True)
class Finding:
    """A located problem a layer above config found in a section config kept raw."""

    line: int
    key: str
    message: str
    warning: bool = False


class SourceCatalog(Protocol):
    """What the settings registry tells the loader about a store's own options.

    Config sits below settings and cannot import it, so the caller hands the registry in
    (`gateway.settings.SOURCES`); without one, `SettingsConfig.options` is kept unchecked and
    `make_source` checks it before it builds anything.
    """

    def check(self, settings: SettingsConfig) -> Sequence[Finding]: ...


class Resources(Protocol):
    """Everything the loader needs from outside the config text (see `resources.py`)."""

    def page(self, path: str | None) -> str | None:
        """The unavailable page's HTML (`None`: the packaged page); `None` when pages are not
        read at all; OSError or UnicodeDecodeError when the file cannot be read."""
        ...

    def env(self, name: str) -> str | None: ...


class Offline:
    """No environment and no pages: `parse_config` on text alone (pages are not checked)."""

    def page(self, path: str | None) -> str | None:
        return None

    def env(self, name: str) -> str | None:
        return None
