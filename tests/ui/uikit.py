"""What the UI tests check on a page: sign-in, sideways overflow, squeezed fields, line counts,
axe-core findings and English left on an Italian page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from aperto.hub import i18n

AXE = Path(__file__).resolve().parents[2] / ".cache" / "axe" / "package" / "axe.min.js"
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def sign_in(page: Any, live: str, token: str) -> None:
    page.goto(f"{live}/login")
    page.locator("#token").fill(token)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(f"{live}/")


def overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0 when nothing scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


# every visible text input, select and textarea narrower than 7 em (about 14 characters of its font), and
# every select whose chosen option does not fit: its text, measured on a canvas in the select's own font,
# plus the select's padding and arrow (the width the browser gives the same select holding only a "W")
SQUEEZED = """() => {
  const out = [], ctx = document.createElement("canvas").getContext("2d");
  const arrow = (el) => {
    const probe = el.cloneNode(false);
    probe.removeAttribute("id");
    probe.style.cssText += ";position:absolute;visibility:hidden;width:auto;min-width:0;max-width:none";
    probe.append(new Option("W"));
    el.parentElement.append(probe);
    const s = getComputedStyle(probe);
    ctx.font = s.font;
    const rest = probe.getBoundingClientRect().width - ctx.measureText("W").width;
    probe.remove();
    return rest;
  };
  for (const el of document.querySelectorAll("input:not([type=checkbox]):not([type=radio]):not([type=hidden]), select, textarea")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || el.closest(".visually-hidden")) continue;
    const s = getComputedStyle(el), em = parseFloat(s.fontSize), name = el.id || el.name;
    if (r.width < 7 * em) { out.push(name + " is " + Math.round(r.width) + "px wide"); continue; }
    const chosen = el.tagName === "SELECT" && !el.multiple && el.selectedIndex >= 0 ? el.options[el.selectedIndex].text : "";
    if (!chosen) continue;
    ctx.font = s.font;
    const needs = ctx.measureText(chosen).width + arrow(el);
    if (needs > r.width + 1)
      out.push(name + " is " + Math.round(r.width) + "px wide, its choice " + JSON.stringify(chosen) + " needs " + Math.round(needs) + "px");
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


# what only an English sentence has; Italian interface text never contains these words
ENGLISH = re.compile(r"\b(the|and|with|your|you|is|are|not|this|of|to|for|only|by)\b")
VISIBLE_TEXT = """() => {
  const skip = (el) => el.closest('[lang="en"], [translate="no"], code, pre, .card-body, .badge, svg, title');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const out = [];
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || skip(el) || ['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(el.tagName) || !node.textContent.trim()) continue;
    if (el.closest('[hidden]') || !el.getClientRects().length) continue;
    out.push(node.textContent.trim());
  }
  for (const el of document.querySelectorAll('input[placeholder], [aria-label]'))
    if (!skip(el)) out.push(el.getAttribute('placeholder') || el.getAttribute('aria-label'));
  return out;
}"""


def axe_path() -> Path:
    if not AXE.is_file():
        pytest.skip(f"axe-core is not fetched ({AXE}); run scripts/axe (scripts/setup does)")
    return AXE


def english_strings() -> list[str]:
    """Interface strings of two words or more whose Italian differs, and the fixed words between the
    values of a template (a policy's reason, a hub error): none may show on an Italian page."""
    table = i18n.catalogue("it")
    found = {m for m, t in table.items() if " " in m.strip() and t != m and "%(" not in m}
    for m, t in table.items():
        if "%(" in m and t != m:
            found |= {part.strip() for part in re.split(r"%\(\w+\)s", m)
                      if " " in part.strip() and len(part.strip()) >= 12 and part.strip() not in t}
    return sorted(found, key=len, reverse=True)


def page_problems(page: Any, where: str, lang: str, axe: str, english: list[str]) -> list[str]:
    """What is wrong with the page as shown: the wrong language, sideways scroll, squeezed fields,
    serious axe-core findings, and on an Italian page any English of ours."""
    assert page.locator("html").get_attribute("lang") == lang, where
    problems = [f"{where}: {overflow(page)}px of sideways scroll"] if overflow(page) > 0 else []
    problems += [f"{where}: {s}" for s in squeezed(page)]
    page.add_script_tag(content=axe)
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                          ".filter(v => ['serious', 'critical'].includes(v.impact))"
                          ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))")
    problems += [f"{where}: axe {v}" for v in found]
    if lang == "it":
        problems += untranslated(page, where, english)
    return problems


# a name the Italian quotes as it is ("Built with Llama") is not English of ours
QUOTED = re.compile(r'"[^"]*"|“[^”]*”')


def untranslated(page: Any, where: str, english: list[str]) -> list[str]:
    """Text on the page that is one of our English strings, or reads as an English sentence."""
    return [f"{where}: untranslated {text[:160]!r}" for text in page.evaluate(VISIBLE_TEXT)
            if [m for m in english if m in text] or ENGLISH.search(QUOTED.sub("", text))]
