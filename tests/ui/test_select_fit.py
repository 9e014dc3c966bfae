"""A select must be wide enough for the option it shows (uikit.squeezed): the check itself on a
page made for it, and the administration page's invitation form, which cut off "user (downloads
and reque…" at 1280 px."""

from __future__ import annotations

import pytest
from hubtools import People
from uikit import WIDTHS, sign_in, squeezed

pytestmark = pytest.mark.slow
LONG = "user (downloads and requests access)"
FORM = """<!doctype html><html lang="en"><body><form>
<label for="narrow">Role</label><select id="narrow" style="width: 12rem"><option>{long}</option></select>
<label for="roomy">Role</label><select id="roomy" style="width: 30rem"><option>{long}</option></select>
<label for="fitted">Role</label><select id="fitted" style="width: auto; font: 15px serif"><option>{long}</option></select>
<label for="later">Role</label><select id="later" style="width: 12rem"><option selected>user</option><option>{long}</option></select>
</form></body></html>"""


def test_a_select_narrower_than_its_choice_is_squeezed(browser) -> None:
    page = browser.new_context(viewport=WIDTHS["desktop"]).new_page()
    page.set_content(FORM.format(long=LONG))
    found = squeezed(page)
    assert len(found) == 1 and found[0].startswith("narrow is 192px wide"), found
    page.locator("#later").select_option(LONG)  # what counts is the option shown, not the widest
    assert [f.split(" ")[0] for f in squeezed(page)] == ["narrow", "later"]


@pytest.mark.parametrize(("lang", "width"), [("en", "desktop"), ("it", "desktop"), ("en", "phone"), ("it", "phone")])
def test_the_invitation_role_shows_its_whole_choice(browser, people: People, live: str, lang: str, width: str) -> None:
    page = browser.new_context(viewport=WIDTHS[width], extra_http_headers={"Accept-Language": lang}).new_page()
    sign_in(page, live, people.admin)
    page.goto(f"{live}/admin")
    problems = []
    for role in ("reader", "publisher"):
        page.locator("#inv-role").select_option(role)
        problems += squeezed(page)
    assert problems == []
