"""`customer_portal.sentences`: localised unavailable pages, each checked for its sentence.

`sentences: {fr: "...", es: "..."}` names a page per language, `unavailable.<lang>.html` in
the directory of `customer_portal.unavailable_page`; each must contain its own sentence, as the
English page must contain the required one. The packaged page has no siblings, so sentences need a
configured page.
"""

from __future__ import annotations

import re
from pathlib import Path

from gateway.config.ports import Resources
from gateway.config.yamlnodes import Node, Reader, mapping

KEY = "customer_portal.sentences"
DEFAULT_LANGUAGE = "en"
# A primary language subtag and optional region or script subtags (BCP 47, as Accept-Language
# ranges name them).
_TAG = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")


def sibling_page(page: str, language: str) -> str:
    """`static/unavailable.html`, `fr` -> `static/unavailable.fr.html`."""
    return str(Path(page).parent / f"unavailable.{language}.html")


def _read(r: Reader, where: Node, key: str, path: str, resources: Resources) -> str | None:
    try:
        return resources.page(path)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        r.errors.add(where, key, f"file not found: {path}")
    except OSError as exc:
        r.errors.add(where, key, f"cannot read {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        r.errors.add(where, key, f"{path} is not UTF-8 text")
    return None


def parse_sentences(
    r: Reader, page: str | None, resources: Resources
) -> tuple[dict[str, str], dict[str, str]]:
    """(language -> sentence, language -> page HTML); problems are located errors."""
    node = mapping(r.at("sentences"), KEY, r.errors)
    if node is None:
        return {}, {}
    sentences: dict[str, str] = {}
    pages: dict[str, str] = {}
    if page is None and node.value:
        r.errors.add(
            node,
            KEY,
            "needs customer_portal.unavailable_page: the localised pages "
            "(unavailable.<lang>.html) sit beside it",
        )
        return {}, {}
    for raw, value in node.items():
        key = f"{KEY}.{raw}"
        where = Node(value.value, node.key_lines.get(raw, value.line))
        language = raw.lower()
        if not _TAG.match(raw):
            r.errors.add(where, key, f"expected a language tag (fr, pt-BR), got {raw!r}")
            continue
        if language == DEFAULT_LANGUAGE:
            r.errors.add(where, key, "English is the default page (unavailable_page)")
            continue
        if language in sentences:
            r.errors.add(where, key, f"{language!r} is listed twice")
            continue
        if not isinstance(value.value, str) or not value.value.strip():
            r.errors.add(where, key, f"expected the page's sentence as text, got {value.value!r}")
            continue
        sentence = value.value.strip()
        sentences[language] = sentence
        assert page is not None
        path = sibling_page(page, language)
        html = _read(r, where, key, path, resources)
        if html is None:
            continue
        if sentence not in html:
            r.errors.add(where, key, f"{path} does not contain its sentence {sentence!r}")
            continue
        pages[language] = html
    return sentences, pages
