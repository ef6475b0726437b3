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
from gateway.settings.document import DOCUMENT_SCHEMA, reading_from_document
from gateway.settings.options import text
from gateway.wire.values import mask_url


def file_path(source: str) -> Path:
    """`file:///abs/path`, `file://localhost/abs/path`, and `file://relative/path`."""
    parts = urlsplit(source)
    netloc = "" if parts.netloc.lower() == "localhost" else parts.netloc
    return Path(unquote(netloc + parts.path))


SCHEMA = DOCUMENT_SCHEMA


class FileSource:
    """Reads the whole document at every poll (in a thread: a slow disk never stalls the loop).

    `.json` is parsed as JSON, `.yaml`/`.yml` as YAML; any other name is tried as JSON, then
    as YAML.
    """

    def __init__(self, cfg: SettingsConfig) -> None:
        self.path = file_path(cfg.source)
        self.description = mask_url(cfg.source)
        self.field = text(cfg, "field", "enabled") or "enabled"
        self.changed_at_field = text(cfg, "changed_at_field")
        self.message_field = text(cfg, "message_field")

    def _load(self) -> Any:
        text = self.path.read_text(encoding="utf-8")
        suffix = self.path.suffix.lower()
        if suffix == ".json":
            return json.loads(text)
        if suffix in (".yaml", ".yml"):
            return yaml.safe_load(text)
        try:
            return json.loads(text)
        except ValueError:
            return yaml.safe_load(text)

    async def read(self) -> Reading:
        try:
            document = await asyncio.to_thread(self._load)
        except OSError as exc:
            raise SettingsUnavailable(f"{self.description}: {exc.strerror or exc}") from None
        except (ValueError, yaml.YAMLError):
            raise SettingsUnavailable(f"{self.description}: not valid JSON or YAML") from None
        return reading_from_document(
            document, self.field, self.changed_at_field, self.description, self.message_field
        )

    async def aclose(self) -> None:
        return None


def create(cfg: SettingsConfig) -> FileSource:
    """The `file://` source; nothing is opened until the first read."""
    return FileSource(cfg)
