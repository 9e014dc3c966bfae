"""The licensor reads what a requester answered to the model card's own questions
(extra_gated_fields) on the queue and in the model's request history, each answer beside its
question as Hugging Face shows them: the requester's words escaped, a ticked box as yes, a date
and a country in the page's language, a choice by its label. Nobody else sees them. A request
that declares no use says so instead of an empty "Declares:" line."""

from __future__ import annotations

import pytest
import yaml
from hubtools import People, publish
from uikit import WIDTHS, axe_path, english_strings, page_problems, sign_in

from aperto.hub import gate_form
from aperto.hub.routes import web_format

pytestmark = pytest.mark.slow
AGREE = "I agree to share my answers with the licensor"
CARD = f"""---
license: llama3.1
extra_gated_prompt: Tell the licensor who you are.
extra_gated_fields:
  Name: text
  Date of birth: date_picker
  Country: country
  Job title:
    type: select
    options:
      - Student
      - label: AI researcher
        value: researcher
  {AGREE}: checkbox
---
# Asked
"""
NAME = '<b>Bob</b> & "co"'  # text the requester typed, markup included: shown as typed, never as markup
SAID = {
    "en": {"Name": NAME, "Date of birth": "January 31, 1990", "Country": "Germany (DE)", "Job title": "AI researcher",
           AGREE: "yes"},
    "it": {"Name": NAME, "Date of birth": "31 gennaio 1990", "Country": "Germania (DE)", "Job title": "AI researcher",
           AGREE: "sì"},
}
NOTHING = {"en": "Declares none of these uses", "it": "Non dichiara nessuno di questi usi"}
DECLARES = {"en": ("Declares:", ["redistributes", "multimodal use"]),
            "it": ("Dichiara:", ["ridistribuisce", "uso multimodale"])}


def setup_requests(people: People) -> dict[str, str]:
    """acme/asked (manual, licensor alice): bob answers the card and declares nothing; dave declares two uses.
    carol is the licensor of another gated model. Returns the extra tokens."""
    hub, root = people.hub, people.caller(people.admin)
    publish(hub, people.alice, "acme/asked", {"README.md": CARD.encode(), "w.bin": b"w"}, gating="manual")
    base = {"org": "bobco", "accepts_aup": True, "mau": 0, "affiliates_mau": 0, "country": "DE"}
    answers = {"Name": NAME, "Date of birth": "1990-01-31", "Country": "de", "Job title": "researcher", AGREE: True}
    hub.access.request_access(people.caller(people.bob), "acme/asked", {**base, "gated_fields": answers})
    tokens = {}
    for user, scopes in (("dave", ["read"]), ("carol", ["read", "publish"])):
        hub.tokens.create_user(root, user)
        tokens[user] = hub.tokens.create_token(root, user, scopes)
    hub.access.request_access(people.caller(tokens["dave"]), "acme/asked",
                              {**base, "redistribute": True, "multimodal": True,
                               "gated_fields": {**answers, "Name": "Dave", "Job title": "Student"}})
    publish(hub, tokens["carol"], "carol/own", {"README.md": CARD.replace("acme", "carol").encode(), "w.bin": b"w"},
            gating="manual")
    return tokens


def answers_in(block) -> dict[str, str]:  # noqa: ANN001 - a Playwright locator
    rows = block.locator("dl.answers > div")
    return {rows.nth(i).locator("dt").inner_text(): rows.nth(i).locator("dd").inner_text() for i in range(rows.count())}


@pytest.mark.parametrize(("lang", "width"), [("en", "desktop"), ("it", "desktop"), ("en", "phone"), ("it", "phone")])
def test_the_licensor_reads_each_answer_beside_its_question(browser, people: People, live: str, lang: str,
                                                            width: str) -> None:
    setup_requests(people)
    ctx = browser.new_context(viewport=WIDTHS[width], bypass_csp=True, extra_http_headers={"Accept-Language": lang})
    page = ctx.new_page()
    sign_in(page, live, people.alice)
    page.goto(f"{live}/queue")
    bob = page.locator("article.request", has=page.get_by_role("heading", name="bob", exact=True))
    assert answers_in(bob) == SAID[lang]
    assert bob.locator("dl.answers b").count() == 0, "the requester's text must not become markup"
    dave = page.locator("article.request", has=page.get_by_role("heading", name="dave", exact=True))
    assert answers_in(dave)["Job title"] == "Student"
    axe, english = axe_path().read_text(), english_strings()
    problems = page_problems(page, f"queue ({lang}, {width})", lang, axe, english)

    page.goto(f"{live}/models/acme/asked/manage?user=bob")
    [submission] = [li for li in page.locator("ol.history > li").all() if li.locator("dl.answers").count()]
    assert answers_in(submission) == SAID[lang]
    problems += page_problems(page, f"request history ({lang}, {width})", lang, axe, english)
    ctx.close()
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("lang", ["en", "it"])
def test_a_request_that_declares_nothing_says_so(browser, people: People, live: str, lang: str) -> None:
    setup_requests(people)
    page = browser.new_context(extra_http_headers={"Accept-Language": lang}).new_page()
    sign_in(page, live, people.alice)
    page.goto(f"{live}/queue")
    bob = page.locator("article.request", has=page.get_by_role("heading", name="bob", exact=True)).inner_text()
    assert NOTHING[lang] in bob and DECLARES[lang][0] not in bob, bob  # not an empty "Declares:" line
    dave = page.locator("article.request", has=page.get_by_role("heading", name="dave", exact=True))
    declares = dave.locator("p", has_text=DECLARES[lang][0])
    assert declares.locator(".badge").all_inner_texts() == DECLARES[lang][1]
    assert NOTHING[lang] not in dave.inner_text()
    page.context.close()


def test_only_who_may_decide_sees_the_answers(browser, people: People, live: str) -> None:
    tokens = setup_requests(people)
    for token in (people.bob, tokens["dave"], tokens["carol"]):  # requesters, and another model's licensor
        page = browser.new_context().new_page()
        sign_in(page, live, token)
        for path in ("/queue", "/models/acme/asked/manage"):
            page.goto(live + path)
            text = page.locator("main").inner_text()
            assert page.locator("dl.answers").count() == 0 and "January 31, 1990" not in text, path
        page.context.close()
    admin = browser.new_context().new_page()  # an administrator may decide any request
    sign_in(admin, live, people.admin)
    admin.goto(f"{live}/queue")
    bob = admin.locator("article.request", has=admin.get_by_role("heading", name="bob", exact=True))
    assert answers_in(bob) == SAID["en"]
    admin.context.close()


def test_answers_the_card_no_longer_asks_read_as_stored() -> None:
    asked = gate_form.questions(yaml.safe_load(CARD.split("---")[1]))
    fields = {"gated_fields": {"Date of birth": "31/01/1990", "Country": "XX", "Job title": "Student",
                               "Shoe size": "44", "Old box": False}}
    said = {a.question: (a.said, a.data) for a in web_format.gate_answers(fields, asked, "it")}
    assert said == {"Date of birth": ("31/01/1990", True), "Country": ("XX", True), "Job title": ("Student", True),
                    "Shoe size": ("44", True), "Old box": ("no", False)}
    assert web_format.gate_answers({"org": "bobco"}, asked, "en") == []
