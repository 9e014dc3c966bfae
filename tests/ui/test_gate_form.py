"""The access request form asks the model card's own questions (Meta's Llama 3.2 card as
published, tests/data/licenses-wild): its prompt, a text, a date, a country, a select and a
checkbox, checked on the server (a wrong answer comes back beside its field, nothing stored)
and stored with the request. In English and Italian, at 1280 and 390 px, with the checks of
test_pages.py (no sideways scroll, no squeezed field, no serious axe-core finding, no English
of ours left on an Italian page)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hubtools import People, publish
from uikit import WIDTHS, axe_path, english_strings, page_problems, sign_in

pytestmark = pytest.mark.slow
CARD = Path(__file__).parents[1] / "data" / "licenses-wild" / "cards" / "bartowski__Llama-3.2-3B-Instruct-GGUF.md"
AGREE = "By clicking Submit below I accept the terms of the license"


@pytest.mark.parametrize(("lang", "width"), [("en", "phone"), ("it", "phone"), ("it", "desktop")])
def test_the_card_s_questions_are_asked_checked_and_stored(browser, people: People, live: str, lang: str,
                                                           width: str) -> None:
    publish(people.hub, people.alice, "acme/llama", {"README.md": CARD.read_bytes(), "model.bin": b"weights"},
            gating="manual")
    options = {"viewport": WIDTHS[width], "bypass_csp": True, "extra_http_headers": {"Accept-Language": lang}}
    page = browser.new_context(**options).new_page()
    sign_in(page, live, people.bob)
    page.goto(f"{live}/models/acme/llama")
    form = page.locator("#request-form")
    assert "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT" in form.locator("#gate-prompt").inner_text()
    labels = [t.strip() for t in form.locator("#gate-questions label").all_inner_texts()]
    assert labels[:6] == ["First Name", "Last Name", "Date of birth", "Country", "Affiliation", "Job title"]
    assert AGREE in labels[6] and len(labels) == 7  # geo (ip_location) is not a question
    assert form.get_by_label("Date of birth", exact=True).get_attribute("type") == "date"
    assert "Research Graduate" in form.get_by_label("Job title", exact=True).locator("option").all_inner_texts()
    germany = "Germany" if lang == "en" else "Germania"  # country names in the page's language
    assert germany in form.get_by_label("Country", exact=True).locator("option").all_inner_texts()
    problems = page_problems(page, f"request form ({lang}, {width})", lang, axe_path().read_text(), english_strings())

    # the browser's own checks are bypassed, as a hand-made POST would: the server checks each answer
    form.evaluate("f => f.noValidate = true")
    form.get_by_label("First Name", exact=True).fill("Bob")
    form.get_by_label("Date of birth", exact=True).evaluate("el => { el.type = 'text'; el.value = '31/01/1990'; }")
    form.locator("[name=accepts_aup]").check()
    form.locator("button[type=submit]").click()
    errors = page.locator("#gate-questions .field-error")
    assert errors.count() == 6, errors.all_inner_texts()  # all but First Name
    assert page.locator("#req-gated-2").get_attribute("aria-invalid") == "true"
    assert "2026-01-31" in page.locator("#req-gated-2-err").inner_text()
    assert page.locator("#req-gated-0").input_value() == "Bob"  # what was typed is kept
    assert people.hub.access.list_requests(people.caller(people.alice), "acme/llama", "pending") == []
    problems += page_problems(page, f"request form with errors ({lang}, {width})", lang, axe_path().read_text(),
                      english_strings())

    form = page.locator("#request-form")
    form.get_by_label("Last Name", exact=True).fill("Builder")
    form.get_by_label("Date of birth", exact=True).fill("1990-01-31")
    form.get_by_label("Country", exact=True).select_option("DE")
    form.get_by_label("Affiliation", exact=True).fill("Bobco")
    form.get_by_label("Job title", exact=True).select_option("AI researcher")
    form.locator("#req-gated-6").check()
    form.locator("[name=accepts_aup]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    [pending] = people.hub.access.list_requests(people.caller(people.alice), "acme/llama", "pending")
    fields = pending["fields"]
    assert fields["gated_fields"] == {"First Name": "Bob", "Last Name": "Builder", "Date of birth": "1990-01-31",
                                      "Country": "DE", "Affiliation": "Bobco", "Job title": "AI researcher",
                                      next(k for k in fields["gated_fields"] if k.startswith(AGREE)): True}
    assert fields["gated_prompt"].startswith("### LLAMA 3.2 COMMUNITY LICENSE AGREEMENT")
    assert not problems, "\n".join(problems)
