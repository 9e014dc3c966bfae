"""What a request said to the model card, seen from both sides.

The requester reads their own answers to the card's questions (extra_gated_fields) on the model
page, under the state of their request, waiting, refused or accepted; nobody else's answers show
there. The licensor reads, with the answers on the queue and in the request history, the card's
prompt (extra_gated_prompt) as it stood when the requester agreed to it: the card's own words,
marked translate="no", as plain text (markup and markdown shown as typed, nothing made a link),
a long prompt folded. In English and Italian, at 1280 and 390 px, with uikit's page checks."""

from __future__ import annotations

import pytest
from hubtools import People, publish
from uikit import WIDTHS, axe_path, english_strings, page_problems, sign_in

pytestmark = pytest.mark.slow
# markup, a markdown link to a script and a bare address: all of it must read as typed
PROMPT = ("Tell <b>acme</b> who you are & why.\n"
          "Read [the policy](javascript:alert(1)) first: https://acme.example/policy")
CARD = """---
license: llama3.1
extra_gated_prompt: {prompt}
extra_gated_fields:
  Name: text
  Date of birth: date_picker
  Job title:
    type: select
    options:
      - Student
      - label: AI researcher
        value: researcher
  I agree to share my answers: checkbox
---
# Asked
"""
NAME = '<i>Bob</i> "the builder"'  # typed by bob: shown as typed, to bob only (and who may decide)
SAID = {"en": {"Name": NAME, "Date of birth": "January 31, 1990", "Job title": "AI researcher",
               "I agree to share my answers": "yes"},
        "it": {"Name": NAME, "Date of birth": "31 gennaio 1990", "Job title": "AI researcher",
               "I agree to share my answers": "sì"}}
STATUS = {"en": ("pending", "rejected"), "it": ("in attesa", "rifiutata")}
BASE = {"org": "bobco", "accepts_aup": True, "mau": 0, "affiliates_mau": 0, "country": "DE"}


def card(prompt: str) -> bytes:
    return CARD.format(prompt=f'"{prompt}"'.replace("\n", "\\n")).encode()


def setup_requests(people: People) -> dict[str, str]:
    """acme/asked (manual, licensor alice): bob and dave answer its questions, alice refuses dave; carol asks
    nothing. Then alice rewrites the card's prompt: the requests keep the prompt they agreed to."""
    hub, root = people.hub, people.caller(people.admin)
    publish(hub, people.alice, "acme/asked", {"README.md": card(PROMPT), "w.bin": b"w"}, gating="manual")
    answers = {"Name": NAME, "Date of birth": "1990-01-31", "Job title": "researcher",
               "I agree to share my answers": True}
    hub.access.request_access(people.caller(people.bob), "acme/asked", {**BASE, "gated_fields": answers})
    tokens = {}
    for user in ("dave", "carol"):
        hub.tokens.create_user(root, user)
        tokens[user] = hub.tokens.create_token(root, user, ["read"])
    hub.access.request_access(people.caller(tokens["dave"]), "acme/asked",
                              {**BASE, "gated_fields": {**answers, "Name": "Dave", "Job title": "Student"}})
    hub.access.handle_request(people.caller(people.alice), "acme/asked", "dave", "rejected", None)
    publish(hub, people.alice, "acme/asked", {"README.md": card("A newer prompt."), "w.bin": b"w"})
    return tokens


def answers_in(block) -> dict[str, str]:  # noqa: ANN001 - a Playwright locator
    rows = block.locator("dl.answers > div")
    return {rows.nth(i).locator("dt").inner_text(): rows.nth(i).locator("dd").inner_text() for i in range(rows.count())}


def context(browser, lang: str, width: str = "desktop"):  # noqa: ANN001, ANN201 - Playwright objects
    return browser.new_context(viewport=WIDTHS[width], bypass_csp=True, extra_http_headers={"Accept-Language": lang})


@pytest.mark.parametrize(("lang", "width"), [("en", "desktop"), ("it", "desktop"), ("en", "phone"), ("it", "phone")])
def test_the_requester_reads_their_own_answers(browser, people: People, live: str, lang: str, width: str) -> None:
    tokens = setup_requests(people)
    axe, english = axe_path().read_text(), english_strings()
    problems = []
    for token, status, said in ((people.bob, STATUS[lang][0], SAID[lang]),
                                (tokens["dave"], STATUS[lang][1], {**SAID[lang], "Name": "Dave", "Job title": "Student"})):
        ctx = context(browser, lang, width)
        page = ctx.new_page()
        sign_in(page, live, token)
        page.goto(f"{live}/models/acme/asked")
        assert status in page.locator("#my-status").inner_text()
        mine = page.locator("#my-answers")
        assert answers_in(mine) == said
        assert mine.locator("dl.answers i").count() == 0, "the requester's text must not become markup"
        assert mine.locator("dt[translate=no]").count() == len(said)
        problems += page_problems(page, f"model page of {status} ({lang}, {width})", lang, axe, english)
        ctx.close()
    assert problems == [], "\n".join(problems)


def test_nobody_else_reads_them_on_the_model_page(browser, people: People, live: str) -> None:
    tokens = setup_requests(people)
    for token in (tokens["dave"], tokens["carol"], people.alice, people.admin):  # another requester, a user, the licensor
        page = browser.new_context().new_page()
        sign_in(page, live, token)
        page.goto(f"{live}/models/acme/asked")
        text = page.locator("main").inner_text()
        assert "the builder" not in text, token
        if token == tokens["dave"]:
            assert answers_in(page.locator("#my-answers"))["Name"] == "Dave"  # his own, and only his
            assert page.locator("dl.answers").count() == 1
        else:
            assert page.locator("#my-answers, dl.answers").count() == 0
        page.context.close()
    page = browser.new_context().new_page()  # signed out
    page.goto(f"{live}/models/acme/asked")
    assert page.locator("dl.answers").count() == 0 and "the builder" not in page.locator("main").inner_text()
    page.context.close()


@pytest.mark.parametrize(("lang", "width"), [("en", "desktop"), ("it", "desktop"), ("en", "phone"), ("it", "phone")])
def test_the_licensor_reads_the_prompt_agreed_to(browser, people: People, live: str, lang: str, width: str) -> None:
    setup_requests(people)
    ctx = context(browser, lang, width)
    page = ctx.new_page()
    sign_in(page, live, people.alice)
    axe, english = axe_path().read_text(), english_strings()
    problems = []
    # the queue holds bob's request (dave's was refused); the history both submissions
    for path, count in (("/queue", 1), ("/models/acme/asked/manage?kind=submission", 2)):
        page.goto(live + path)
        prompts = page.locator("details.agreed .agreed-prompt")
        assert prompts.count() == count, path
        for i in range(count):
            shown = prompts.nth(i)
            assert shown.is_visible(), f"{path}: a short prompt shows unfolded"
            assert shown.inner_text() == PROMPT, path  # as agreed to, not the card's newer prompt
            assert shown.get_attribute("translate") == "no"
            assert shown.locator("b, a").count() == 0, f"{path}: the card's markup and links stay text"
        assert "A newer prompt." not in page.locator("main").inner_text()
        assert page.locator("details.agreed + p + dl.answers").count() == count, "the prompt, then the answers"
        problems += page_problems(page, f"{path} ({lang}, {width})", lang, axe, english)
    ctx.close()
    assert problems == [], "\n".join(problems)


def test_a_long_prompt_is_folded(browser, people: People, live: str) -> None:
    long = " ".join(["Terms."] * 200)
    publish(people.hub, people.alice, "acme/long", {"README.md": card(long), "w.bin": b"w"}, gating="manual")
    people.hub.access.request_access(people.caller(people.bob), "acme/long",
                                     {**BASE, "gated_fields": {"Name": "Bob", "Date of birth": "1990-01-31",
                                                               "Job title": "Student",
                                                               "I agree to share my answers": True}})
    page = browser.new_context().new_page()
    sign_in(page, live, people.alice)
    page.goto(f"{live}/queue")
    folded = page.locator("article.request details.agreed")
    assert folded.count() == 1
    assert not folded.locator(".agreed-prompt").is_visible()
    folded.locator("summary").click()
    assert folded.locator(".agreed-prompt").inner_text() == long
    assert page.locator("article.request dl.answers").is_visible()
    page.context.close()
