"""A tiny portal that runs the gate in-process: a login, a customer page, an office page.

    python examples/plugin_app.py --config examples/plugin.yaml [--host 127.0.0.1] [--port 8081]

Customers log in at /login and see their page at /. Staff use /office, which also holds the
"Enable Customer Portal" switch: it writes the settings file the config's `settings.source`
names (a `file://` store), and the gate's poller reads it like any store. While the portal is
off every customer path answers the unavailable page and customers are logged out; /office
always works. The app itself knows nothing of the switch: `gateway.plugin.setup()` is the
only line that concerns the gate.
"""

from __future__ import annotations

import argparse
import html
import json
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from aiohttp import web

from gateway import plugin
from gateway.config import Config, ConfigError, load_config
from gateway.settings import SOURCES

SESSIONS = web.AppKey("sessions", dict[str, str])  # session id -> customer name
SETTINGS_FILE = web.AppKey("settings_file", Path)


def _page(title: str, body: str) -> web.Response:
    return web.Response(
        text=f"<!doctype html><title>{title}</title><h1>{title}</h1>{body}",
        content_type="text/html",
    )


async def home(request: web.Request) -> web.StreamResponse:
    name = request.app[SESSIONS].get(request.cookies.get("portal_session", ""))
    if name is None:
        raise web.HTTPSeeOther("/login")
    return _page(
        "Customer Portal",
        f"<p>Hello, {html.escape(name)}.</p>"
        '<form method="post" action="/logout"><button>Log out</button></form>',
    )


async def login_form(request: web.Request) -> web.StreamResponse:
    return _page(
        "Log in",
        '<form method="post" action="/login"><input name="name" placeholder="Your name">'
        "<button>Log in</button></form>",
    )


async def login(request: web.Request) -> web.StreamResponse:
    name = str((await request.post()).get("name", "")).strip() or "customer"
    sid = secrets.token_urlsafe(16)
    request.app[SESSIONS][sid] = name
    answer = web.HTTPSeeOther("/")
    answer.set_cookie("portal_session", sid, path="/", httponly=True, samesite="Lax")
    raise answer


async def logout(request: web.Request) -> web.StreamResponse:
    request.app[SESSIONS].pop(request.cookies.get("portal_session", ""), None)
    answer = web.HTTPSeeOther("/login")
    answer.del_cookie("portal_session", path="/")
    raise answer


def _enabled(path: Path) -> bool:
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("enabled"))
    except (OSError, ValueError):
        return False


def write_setting(path: Path, enabled: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"enabled": enabled, "changed_at": time.time()}))
    temporary.replace(path)  # the poller never reads half a file


async def office(request: web.Request) -> web.StreamResponse:
    enabled = _enabled(request.app[SETTINGS_FILE])
    customers = ", ".join(sorted(request.app[SESSIONS].values())) or "none"
    return _page(
        "Office Portal",
        f"<p>Customer Portal is <b>{'enabled' if enabled else 'disabled'}</b>.</p>"
        '<form method="post" action="/office/portal">'
        f'<input type="hidden" name="enabled" value="{"no" if enabled else "yes"}">'
        f"<button>{'Disable' if enabled else 'Enable'} Customer Portal</button></form>"
        f"<p>Customers who logged in: {html.escape(customers)}</p>",
    )


async def switch(request: web.Request) -> web.StreamResponse:
    enabled = (await request.post()).get("enabled") == "yes"
    write_setting(request.app[SETTINGS_FILE], enabled)
    raise web.HTTPSeeOther("/office")


def settings_file(config: Config) -> Path:
    parts = urlsplit(config.settings.source)
    if parts.scheme != "file":
        raise SystemExit("this example's office switch writes a file:// settings source")
    return Path(unquote(parts.netloc + parts.path))


def make_app(config: Config) -> web.Application:
    app = web.Application()
    app[SESSIONS] = {}
    app[SETTINGS_FILE] = path = settings_file(config)
    if not path.exists():
        write_setting(path, True)
    app.router.add_get("/", home)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/office", office)
    app.router.add_post("/office/portal", switch)
    plugin.setup(app, config)  # last: the gate wraps everything above
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="a portal-gateway YAML config")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, sources=SOURCES)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    web.run_app(make_app(config), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
