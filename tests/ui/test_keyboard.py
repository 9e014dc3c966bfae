"""Keyboard only: a requester fills and sends the access request, and the licensor accepts it,
without a mouse, at phone and desktop width."""

from __future__ import annotations

import pytest
from hubtools import LLAMA_CARD, People, publish
from uikit import WIDTHS, sign_in

pytestmark = pytest.mark.slow


def tab_to(page, selector: str, limit: int = 150) -> None:  # noqa: ANN001
    """Press Tab until the element matching selector has the focus (fails if it never does)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(sel) => document.activeElement && document.activeElement.matches(sel)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_request_and_accept_by_keyboard(browser, people: People, live: str, width: str) -> None:
    publish(people.hub, people.alice, "acme/llama", {"README.md": LLAMA_CARD.encode(), "w.bin": b"w"}, gating="manual")
    bob = browser.new_context(viewport=WIDTHS[width]).new_page()
    sign_in(bob, live, people.bob)
    bob.goto(f"{live}/models/acme/llama")
    tab_to(bob, "#req-org")
    bob.keyboard.type("bobco")
    tab_to(bob, "#req-mau")
    bob.keyboard.type("12K")
    tab_to(bob, "#req-country")
    bob.keyboard.type("IT")
    tab_to(bob, "#request-form input[name=accepts_aup]")
    bob.keyboard.press("Space")
    tab_to(bob, "#request-form button[type=submit]")
    bob.keyboard.press("Enter")
    bob.wait_for_url(f"{live}/models/acme/llama?msg=*")
    assert "pending" in bob.locator("#my-status").inner_text()
    fields = people.hub.access.my_request(people.caller(people.bob), "acme/llama")["fields"]
    assert (fields["org"], fields["mau"], fields["country"]) == ("bobco", 12_000, "IT")

    alice = browser.new_context(viewport=WIDTHS[width]).new_page()
    sign_in(alice, live, people.alice)
    tab_to(alice, "a[href='/queue']")
    alice.keyboard.press("Enter")
    alice.wait_for_url(f"{live}/queue")
    tab_to(alice, "button[value=accepted]")
    alice.keyboard.press("Enter")
    alice.wait_for_url(f"{live}/queue?msg=*")
    assert people.hub.repos.can_download(people.caller(people.bob), "acme/llama")
