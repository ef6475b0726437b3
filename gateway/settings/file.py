"""`file://` stores: a JSON or YAML document on disk, read off the event loop."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from gateway.config import SettingsConfig
from gateway.settings import Reading, SettingsUnavailable
from gateway.settings.document import reading_from_document


class FileSource:
    def __init__(self, cfg: SettingsConfig) -> None:
        parts = urlsplit(cfg.source)
        # file:///abs/path and file://relative/path (netloc + path) are both accepted.
        self.path = Path(unquote(parts.netloc + parts.path))
        self.description = cfg.source
        self.field = cfg.field or "enabled"
        self.changed_at_field = cfg.changed_at_field

    def _load(self) -> Any:
        text = self.path.read_text(encoding="utf-8")
        if self.path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)  # YAML is a superset of JSON

    async def read(self) -> Reading:
        try:
            document = await asyncio.to_thread(self._load)
        except OSError as exc:
            raise SettingsUnavailable(f"{self.description}: {exc.strerror or exc}") from None
        except (ValueError, yaml.YAMLError):
            raise SettingsUnavailable(f"{self.description}: not valid JSON or YAML") from None
        return reading_from_document(document, self.field, self.changed_at_field, self.description)

    async def aclose(self) -> None:
        return None


def create(cfg: SettingsConfig) -> FileSource:
    return FileSource(cfg)
