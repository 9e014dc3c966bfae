"""Management in the browser: an administrator opens an account and revokes tokens, stops
every model and resumes, filters and exports the audit log; a licensor changes the access
mode, revokes a grant and filters a model's request history."""

from __future__ import annotations

import pytest
from hubtools import LLAMA_CARD, People, publish
from uikit import WIDTHS, sign_in

from aperto.errors import InvalidToken

pytestmark = pytest.mark.slow


def test_admin_opens_an_account_and_manages_the_hub(browser, people: People, live: str) -> None:
    ctx = browser.new_context(viewport=WIDTHS["desktop"], accept_downloads=True)
    page = ctx.new_page()
    sign_in(page, live, people.admin)
    page.get_by_role("link", name="Administration").click()
    page.get_by_label("User name").fill("carol")
    page.get_by_label("Organisation", exact=True).fill("carolco")
    page.get_by_label("May publish models (licensor)").check()
    page.get_by_role("button", name="Open the account").click()
    token = page.locator("#new-token code.token").inner_text()
    assert "carolco: carol" in page.locator("section[aria-labelledby=orgs-h]").inner_text()
    assert token.startswith("aperto_")
    assert people.hub.tokens.authenticate(token).has("publish")
    # the same name again is a field error, not a 500
    page.get_by_label("User name").fill("carol")
    page.get_by_role("button", name="Open the account").click()
    assert "exists" in page.locator("#new-name-err").inner_text()

    carol = browser.new_context().new_page()
    sign_in(carol, live, token)  # the newcomer signs in with what the page showed
    assert carol.locator(".who strong").inner_text() == "carol"

    page.goto(f"{live}/admin")
    page.locator("tr", has_text="carol").get_by_role("button", name="Revoke").click()
    page.get_by_text("Token of carol revoked.").wait_for()
    with pytest.raises(InvalidToken):
        people.hub.tokens.authenticate(token)
    carol.goto(f"{live}/")
    assert carol.get_by_role("link", name="Sign in").is_visible(), "a revoked token's session ends"

    page.goto(f"{live}/admin")
    page.get_by_label("Reason for stopping every model").fill("incident 42")
    page.get_by_role("button", name="Stop every model").click()
    assert people.hub.control.kills()[0] == {**people.hub.control.kills()[0], "repo": None, "reason": "incident 42"}
    page.get_by_role("button", name="Resume every model").click()
    assert people.hub.control.kills() == []

    page.goto(f"{live}/audit")
    page.get_by_label("Action").fill("kill")
    page.get_by_role("button", name="Filter").click()
    actions = page.locator("ol.audit li").all_inner_texts()
    assert actions and all("kill" in a for a in actions)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = download.value.path().read_text()
    assert text.startswith("seq,at,actor,action,subject") and "incident 42" in text and "user.create" not in text
    ctx.close()


def test_licensor_manages_a_model(browser, people: People, live: str) -> None:
    publish(people.hub, people.alice, "acme/llama", {"README.md": LLAMA_CARD.encode(), "w.bin": b"w"}, gating="manual")
    bob = people.caller(people.bob)
    people.hub.access.request_access(bob, "acme/llama", {"org": "bobco", "mau": 10, "accepts_aup": True})
    people.hub.access.handle_request(people.caller(people.alice), "acme/llama", "bob", "accepted", "welcome")
    page = browser.new_context(viewport=WIDTHS["phone"]).new_page()
    sign_in(page, live, people.alice)
    page.goto(f"{live}/models/acme/llama")
    page.get_by_role("link", name="Requests, grants and access mode").click()
    page.get_by_label("Reason for revoking bob").fill("breach of the AUP")
    page.get_by_role("button", name="Revoke bob").click()
    assert not people.hub.repos.can_download(bob, "acme/llama")
    page.get_by_label("Status").select_option("accepted")
    page.get_by_role("button", name="Filter").click()
    items = page.locator("ol.history li").all_inner_texts()
    assert len(items) == 1 and "welcome" in items[0] and "version 2" in items[0]
    page.get_by_label("Status").select_option("")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("ol.history time").count() == 3  # request, accept, revoke: each with its time
    page.get_by_label("URL (http or https)").fill("https://hooks.example/aperto")
    page.get_by_label("Secret (sent as X-Webhook-Secret)").fill("s3cret")
    page.get_by_role("button", name="Add the webhook").click()
    assert page.locator("#hooks-h + p + ul li").inner_text().startswith("https://hooks.example/aperto")
    assert [h["url"] for h in people.hub.webhooks.listed(people.caller(people.alice))] == ["https://hooks.example/aperto"]
    page.get_by_role("button", name="Remove https://hooks.example/aperto").click()
    assert people.hub.webhooks.listed(people.caller(people.alice)) == []
    page.get_by_label("gated, licence-aware automatic").check()
    page.get_by_role("button", name="Save the access mode").click()
    assert people.hub.repos.repo("acme/llama")["gating"] == "auto"
