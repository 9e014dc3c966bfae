"""Invitation links and token expiry in the browser, at 1280 and 390 px, in English and Italian:
an administrator makes a link and picks a token's expiry, the newcomer accepts the link with the
keyboard only, and a used or unknown link gets a clear page. Every page is checked as in
test_pages.py: no sideways scroll, no squeezed field, no serious axe-core finding, no English
left on an Italian page."""

from __future__ import annotations

import pytest
from hubtools import People
from test_keyboard import tab_to
from uikit import WIDTHS, axe_path, english_strings, page_problems, sign_in

pytestmark = pytest.mark.slow
INVITEE = {"en": "carol", "it": "carla"}


@pytest.mark.parametrize(("lang", "width"), [("en", "desktop"), ("en", "phone"), ("it", "desktop"),
                                             ("it", "phone")])
def test_invite_by_link_and_token_expiry(browser, people: People, live: str, lang: str, width: str) -> None:
    axe, english = axe_path().read_text(), english_strings()
    options = {"viewport": WIDTHS[width], "bypass_csp": True, "extra_http_headers": {"Accept-Language": lang}}
    admin = browser.new_context(**options).new_page()
    sign_in(admin, live, people.admin)
    admin.goto(f"{live}/admin")
    problems = page_problems(admin, f"/admin ({lang}, {width})", lang, axe, english)

    # an account whose token expires in 30 days: the tokens table says when
    admin.locator("#new-name").fill("dave")
    admin.locator("#new-expires").select_option("30")
    admin.locator("form[action='/admin/users'] button[type=submit]").click()
    dave = next(t for t in people.hub.tokens.list_tokens(people.caller(people.admin)) if t["user"] == "dave")
    row = admin.locator("section[aria-labelledby=tokens-h] tr", has_text="dave").inner_text()
    assert dave["expires_at"] and dave["expires_at"][:10] in row

    # two links: one is withdrawn, the other sent to the newcomer
    admin.locator("#inv-role").select_option("publisher")
    admin.locator("#inv-org").fill("carolco")
    admin.locator("form[action='/admin/invites'] button[type=submit]").click()
    link = admin.locator("#new-invite code").inner_text()
    admin.locator("form[action='/admin/invites'] button[type=submit]").click()  # a reader's link, no org
    withdrawn = admin.locator("#new-invite code").inner_text()
    assert link.startswith(f"{live}/invite/") and link != withdrawn
    problems += page_problems(admin, f"/admin with a new link ({lang}, {width})", lang, axe, english)
    assert admin.locator("section[aria-labelledby=links-h] tbody tr").count() == 2
    admin.locator("section[aria-labelledby=links-h] tbody tr").last.locator("button").click()
    admin.wait_for_url(f"{live}/admin?msg=*")
    assert admin.locator("section[aria-labelledby=links-h] tbody tr").count() == 1

    # the newcomer, keyboard only
    newcomer = browser.new_context(**options).new_page()
    newcomer.goto(link)
    problems += page_problems(newcomer, f"/invite/<code> ({lang}, {width})", lang, axe, english)
    tab_to(newcomer, "#inv-name")
    newcomer.keyboard.type(INVITEE[lang])
    tab_to(newcomer, "#invite-form button[type=submit]")
    newcomer.keyboard.press("Enter")
    newcomer.locator("#new-token code").wait_for()
    token = newcomer.locator("#new-token code").inner_text()
    problems += page_problems(newcomer, f"/invite/<code> accepted ({lang}, {width})", lang, axe, english)
    caller = people.hub.tokens.authenticate(token)
    assert (caller.name, caller.org, caller.has("publish"), caller.is_admin) == (INVITEE[lang], "carolco", True,
                                                                                 False)
    newcomer.goto(f"{live}/")
    assert newcomer.locator(".who strong").inner_text() == INVITEE[lang], "accepting signs the newcomer in"

    # a used, a withdrawn and an unknown link each get a page that says so (never a 500)
    for where, url, status in (("used", link, 410), ("withdrawn", withdrawn, 410),
                               ("unknown", f"{live}/invite/not-a-code", 404)):
        other = browser.new_context(**options).new_page()
        assert other.goto(url).status == status, where
        assert other.locator("#invite-form").count() == 0 and other.locator(".error-box").is_visible(), where
        problems += page_problems(other, f"/invite ({where}, {lang}, {width})", lang, axe, english)
        other.context.close()
    assert problems == [], "\n".join(problems)
    actions = {a["action"] for a in people.hub.audit.audit_rows(people.caller(people.admin), 0, 1000)}
    assert {"invite.create", "invite.revoke", "invite.accept", "session.start"} <= actions
