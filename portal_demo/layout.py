"""Shared HTML: one inline stylesheet, the page frame, small form helpers. Everything that
reaches the page from data goes through `esc` (html.escape)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from aiohttp import web

esc = html.escape

CSS = """
:root { color-scheme: light dark; --fg: #1f2933; --muted: #52606d; --bg: #f5f7fa;
  --card: #fff; --line: #d9e2ec; --accent: #0b5cad; --ok-bg: #e3f9e5; --ok-fg: #14532d;
  --err-bg: #fde8e8; --err-fg: #8a1c1c; }
@media (prefers-color-scheme: dark) { :root { --fg: #e4e7eb; --muted: #b6c2cf; --bg: #102a43;
  --card: #1b3a5b; --line: #334e68; --accent: #9fcbff; --ok-bg: #14532d; --ok-fg: #e3f9e5;
  --err-bg: #7a1a1a; --err-fg: #fde8e8; } }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
header { background: var(--card); border-bottom: 1px solid var(--line); padding: .75rem 1rem; }
header .brand { font-weight: 700; margin-right: 1rem; }
nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; }
a { color: var(--accent); }
nav a[aria-current="page"] { font-weight: 700; text-decoration: none; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
section, form.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 1rem; margin: 0 0 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 0 0 .75rem; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.table-wrap { overflow-x: auto; }
label { display: block; font-weight: 600; margin: .5rem 0 .25rem; }
label.inline { display: inline; font-weight: 400; margin: 0 0 0 .35rem; }
input, select, textarea, button { font: inherit; }
input[type=text], input[type=email], input[type=password], input[type=number], select, textarea {
  width: 100%; max-width: 24rem; padding: .4rem; border: 1px solid var(--muted); border-radius: 4px;
  background: var(--card); color: var(--fg); }
td input[type=number] { width: 6rem; }
button { margin-top: .75rem; padding: .45rem 1.1rem; border: 0; border-radius: 4px;
  background: #0b5cad; color: #fff; cursor: pointer; }
td button { margin: 0 0 0 .25rem; padding: .3rem .8rem; }
.notice { padding: .6rem .8rem; border-radius: 4px; background: var(--ok-bg); color: var(--ok-fg); }
.error { padding: .6rem .8rem; border-radius: 4px; background: var(--err-bg); color: var(--err-fg); }
.muted, footer { color: var(--muted); }
footer { max-width: 60rem; margin: 0 auto; padding: 1rem; font-size: .9rem; }
.breadcrumbs ol { list-style: none; padding: 0; margin: 0 0 .5rem; display: flex; flex-wrap: wrap; gap: .35rem; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
"""


def nav(items: Sequence[tuple[str, str]], current: str, label: str) -> str:
    links = []
    for href, text in items:
        mark = ' aria-current="page"' if href == current else ""
        links.append(f'<li><a href="{esc(href)}"{mark}>{esc(text)}</a></li>')
    return f'<nav aria-label="{esc(label)}"><ul>{"".join(links)}</ul></nav>'


def page(
    title: str, body: str, *, brand: str, navigation: str, footer: str, script: str = ""
) -> web.Response:
    """A whole page; `body`, `navigation`, `footer` and `script` are already-safe HTML."""
    text = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)} - {esc(brand)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<header><span class="brand">{esc(brand)}</span>{navigation}</header>\n'
        f"<main>\n<h1>{esc(title)}</h1>\n{body}\n</main>\n<footer>{footer}</footer>\n"
        f"{script}</body>\n</html>\n"
    )
    return web.Response(text=text, content_type="text/html", charset="utf-8")


def notice(messages: dict[str, str], done: str | None) -> str:
    """The success line after a POST-redirect; only known keys, never the query text itself."""
    if done and done in messages:
        return f'<p class="notice" role="status">{esc(messages[done])}</p>'
    return ""


def error(message: str | None) -> str:
    return f'<p class="error" role="alert">{esc(message)}</p>' if message else ""


def options(pairs: Iterable[tuple[object, str]], selected: object = None) -> str:
    return "".join(
        f'<option value="{esc(str(v))}"{" selected" if v == selected else ""}>{esc(t)}</option>'
        for v, t in pairs
    )


def field(label: str, name: str, control: str = "", *, type_: str = "text", extra: str = "") -> str:
    """A label bound to its control by id; `control` replaces the default <input>."""
    ident = f"f-{name}"
    if not control:
        control = f'<input type="{type_}" id="{ident}" name="{esc(name)}"{extra}>'
    else:
        control = control.replace("{id}", ident)
    return f'<label for="{ident}">{esc(label)}</label>{control}'


def table(headers: Sequence[str], body_rows: Iterable[Sequence[str]], caption: str = "") -> str:
    """Cells are already-safe HTML."""
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in body_rows)
    cap = f'<caption class="sr-only">{esc(caption)}</caption>' if caption else ""
    return (
        f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{trs}</tbody></table></div>"
    )


def see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


async def form_data(request: web.Request) -> dict[str, str]:
    """The posted form as plain strings (files and repeats are not used by the demo)."""
    data = await request.post()
    return {k: v for k, v in data.items() if isinstance(v, str)}


def to_int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None
