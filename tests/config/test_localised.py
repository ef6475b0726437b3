"""`customer_portal.sentences`: a page per language beside the configured one, each checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.config import UNAVAILABLE_MESSAGE, ConfigError, config_from_text
from gateway.config.localised import sibling_page
from tests.conftest import config_data, config_yaml

FR = "Notre portail client est actuellement indisponible. Veuillez revenir plus tard."
ES = "Nuestro portal de clientes no está disponible en este momento."


def pages(tmp_path: Path, **localised: str) -> Path:
    page = tmp_path / "unavailable.html"
    page.write_text(f"<p>{UNAVAILABLE_MESSAGE}</p>")
    for language, text in localised.items():
        (tmp_path / f"unavailable.{language}.html").write_text(text)
    return page


def load(page: Path | None, sentences: object) -> str:
    portal: dict[str, object] = {"sentences": sentences}
    if page is None:
        portal["unavailable_page"] = None
    else:
        portal["unavailable_page"] = str(page)
    return config_yaml(config_data("http://127.0.0.1:8081", portal=portal))


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_text(text, "g.yaml")
    return [str(issue) for issue in info.value.issues]


def test_the_pages_sit_beside_the_configured_one() -> None:
    assert sibling_page("static/unavailable.html", "fr") == "static/unavailable.fr.html"
    assert sibling_page("down.html", "pt-br") == "unavailable.pt-br.html"


def test_each_page_is_read_with_its_sentence_and_tags_are_lower_cased(tmp_path: Path) -> None:
    page = pages(tmp_path, fr=f"<p>{FR}</p>", **{"pt-br": "<p>Indisponível.</p>"})
    config = config_from_text(load(page, {"fr": FR, "pt-BR": "Indisponível."}), "g.yaml")
    portal = config.customer_portal
    assert portal.sentences == {"fr": FR, "pt-br": "Indisponível."}
    assert portal.localised_html == {"fr": f"<p>{FR}</p>", "pt-br": "<p>Indisponível.</p>"}


def test_a_missing_page_or_one_without_its_sentence_is_a_located_error(tmp_path: Path) -> None:
    page = pages(tmp_path, fr="<p>Bientôt.</p>")
    found = sorted(errors(load(page, {"fr": FR, "es": ES})), key=lambda e: "fr" in e)
    es, fr = (tmp_path / "unavailable.es.html", tmp_path / "unavailable.fr.html")
    assert re.match(
        rf"^g\.yaml:\d+: customer_portal\.sentences\.es: file not found: {es}$", found[0]
    )
    assert re.match(
        rf"^g\.yaml:\d+: customer_portal\.sentences\.fr: {fr} does not contain its sentence ",
        found[1],
    )


@pytest.mark.parametrize(
    ("sentences", "message"),
    [
        ({"en": "Hello"}, "customer_portal.sentences.en: English is the default page"),
        (
            {"f r": FR},
            "customer_portal.sentences.f r: expected a language tag (fr, pt-BR), got 'f r'",
        ),
        ({"fr": ""}, "customer_portal.sentences.fr: expected the page's sentence as text, got ''"),
        ({"fr": 3}, "customer_portal.sentences.fr: expected the page's sentence as text, got 3"),
        ({"fr": FR, "FR": FR}, "customer_portal.sentences.FR: 'fr' is listed twice"),
        (["fr"], "customer_portal.sentences: expected a mapping"),
    ],
)
def test_bad_entries_are_named(tmp_path: Path, sentences: object, message: str) -> None:
    page = pages(tmp_path, fr=f"<p>{FR}</p>")
    assert any(message in e for e in errors(load(page, sentences))), errors(load(page, sentences))


def test_the_packaged_page_takes_no_sentences() -> None:
    (found,) = errors(load(None, {"fr": FR}))
    assert re.match(
        r"^g\.yaml:\d+: customer_portal\.sentences: needs customer_portal\.unavailable_page: ",
        found,
    )
