"""What the UI tests check on a page: sign-in, sideways overflow, squeezed fields, line counts."""

from __future__ import annotations

from typing import Any

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def sign_in(page: Any, live: str, token: str) -> None:
    page.goto(f"{live}/login")
    page.locator("#token").fill(token)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(f"{live}/")


def overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0 when nothing scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


# every visible text input, select and textarea narrower than 7 em (about 14 characters of its font)
SQUEEZED = """() => {
  const out = [];
  for (const el of document.querySelectorAll("input:not([type=checkbox]):not([type=radio]):not([type=hidden]), select, textarea")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || el.closest(".visually-hidden")) continue;
    const em = parseFloat(getComputedStyle(el).fontSize);
    if (r.width < 7 * em) out.push((el.id || el.name) + " is " + Math.round(r.width) + "px wide");
  }
  return out;
}"""


def squeezed(page: Any) -> list[str]:
    return page.evaluate(SQUEEZED)


def lines(page: Any, selector: str) -> list[int]:
    """The number of lines each matching element's text takes (one per distinct line top)."""
    return page.evaluate("""(sel) => [...document.querySelectorAll(sel)].map((el) => {
      const range = document.createRange(); range.selectNodeContents(el);
      return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size; })""", selector)


def in_view(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"]
    return box is not None and 0 <= box["y"] < height
