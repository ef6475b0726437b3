"""The load step: the config file, the unavailable page, package data and the environment.

Everything `parse_config` must not do itself (it is pure) happens here. An explicit
`customer_portal.unavailable_page` is read relative to the working directory; without the key
the page packaged with the gateway is used, so an install anywhere passes `check`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources as package_data
from pathlib import Path

from gateway.config.loader import parse_config
from gateway.config.ports import SourceCatalog
from gateway.config.schema import Config
from gateway.config.yamlnodes import ConfigError, ConfigIssue

SESSION_KEY_ENV = "PORTAL_GATEWAY_SESSION_KEY"
PACKAGED_PAGE = "static/unavailable.html"  # inside the `gateway` package


def packaged_page() -> str:
    """The default unavailable page, from the installed package (wheel, sdist or checkout)."""
    return package_data.files("gateway").joinpath(PACKAGED_PAGE).read_text(encoding="utf-8")


class LocalResources:
    """This process's view: files from the working directory, package data, `os.environ`."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def page(self, path: str | None) -> str:
        if path is None:
            return packaged_page()
        return Path(path).read_text(encoding="utf-8")

    def env(self, name: str) -> str | None:
        return self.environ.get(name)


def config_from_text(
    text: str,
    file: str,
    sources: SourceCatalog | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """`parse_config` with this process's pages and environment (tests build configs so)."""
    return parse_config(text, file, LocalResources(environ), sources)


def read_text(file: str) -> str:
    """The config file's text; an unreadable file is a located `(file)` error."""
    try:
        return Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigIssue(file, 1, "(file)", exc.strerror or str(exc))]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [ConfigIssue(file, 1, "(file)", f"not UTF-8 text: {exc.reason}")]
        ) from exc


def load_config(
    file: str | os.PathLike[str],
    sources: SourceCatalog | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read and validate a config file. Pass `sources=gateway.settings.SOURCES` (the CLI and
    the SIGHUP reload do) to have the store's own options checked in the same report."""
    name = os.fspath(file)
    return config_from_text(read_text(name), name, sources, environ)
