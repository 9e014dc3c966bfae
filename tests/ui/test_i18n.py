"""Italian and English: every interface string has its Italian, the language follows
Accept-Language, a switch is remembered, and licence texts stay as written."""

from __future__ import annotations

from pathlib import Path

import pytest
from hubtools import LLAMA_CARD, People, publish
from uikit import sign_in

from aperto.hub import i18n

HUB = Path(i18n.__file__).parent


def test_every_marked_string_has_its_italian() -> None:
    sources = sorted((HUB / "templates").glob("*.html")) + sorted((HUB / "routes").glob("web*.py"))
    table = i18n.catalogue("it")
    missing = sorted({m for p in sources for m in i18n.marked(p.read_text()) if not table.get(m)})
    assert missing == [], "run scripts/i18n_update.py and translate: " + "; ".join(missing)


def test_translations_keep_their_placeholders() -> None:
    import re

    for msgid, text in i18n.catalogue("it").items():
        assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(re.findall(r"%\(\w+\)s", text)), msgid


def test_language_negotiation() -> None:
    assert i18n.negotiate(None, "it-IT,it;q=0.9,en;q=0.8") == "it"
    assert i18n.negotiate(None, "de-DE,en;q=0.5,it;q=0.4") == "en"
    assert i18n.negotiate("it", "en") == "it"
    assert i18n.negotiate("xx", "fr") == "en"


@pytest.mark.slow
def test_switch_is_remembered_and_licences_stay_as_written(browser, people: People, live: str) -> None:
    publish(people.hub, people.alice, "acme/llama", {"README.md": LLAMA_CARD.encode(), "w.bin": b"w",
                                                     "LICENSE.md": b"ACME COMMUNITY LICENSE\nYou may use it."},
            gating="manual")
    ctx = browser.new_context(extra_http_headers={"Accept-Language": "en-GB,en;q=0.9"})
    page = ctx.new_page()
    sign_in(page, live, people.bob)
    page.goto(f"{live}/models/acme/llama")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="Italiano").click()
    assert page.url.endswith("/models/acme/llama")
    assert page.get_by_role("heading", name="Posso usarlo?").is_visible()
    page.goto(f"{live}/leaderboard")  # remembered on the next page
    assert page.locator("html").get_attribute("lang") == "it"
    assert page.get_by_role("heading", name="Classifica HumanEval").is_visible()
    page.goto(f"{live}/models/acme/llama/terms")
    assert "ACME COMMUNITY LICENSE\nYou may use it." in page.locator("pre.licence-text").inner_text()
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    ctx.close()


def test_clause_explanations_are_translated_and_licence_names_are_not(people: People, live: str) -> None:
    import httpx
    from hubtools import catalogue_token

    publish(people.hub, catalogue_token(people), "meta-llama/Llama-2-7b-hf",
            {"README.md": b"---\nlicense: llama2\n---\n# Llama 2\n"})
    page = httpx.get(f"{live}/models/meta-llama/Llama-2-7b-hf", headers={"Accept-Language": "it"}).text
    assert "<strong>Llama 2 Community License Agreement</strong>" in page  # a name, as the licensor wrote it
    assert "Una licenza mondiale, gratuita, non esclusiva" in page  # §1.a explained in Italian
    assert "A worldwide, royalty-free" not in page
