"""Every page of the web UI at 1280 and 390 px, in English and Italian (and dark mode), as the people who
use it see it: nothing scrolls sideways, no field is squeezed, axe-core finds no serious or
critical violation, and an Italian page shows no English interface string.

axe-core is the npm package (scripts/axe fetches it into .cache/axe); Playwright adds it to
each page, in a context that bypasses the CSP for that injected script only (the hub's own
pages keep their policy, which test_browser_security.py checks)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hubtools import LLAMA_CARD, People, catalogue_token, publish
from uikit import WIDTHS, overflow, sign_in, squeezed

from aperto.hub import i18n
from aperto.hub.routes.web_format import profile_form

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".cache" / "axe" / "package" / "axe.min.js"
LLAMA2 = "meta-llama/Llama-2-7b-hf"
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


def setup_hub(people: People) -> None:
    hub = people.hub
    publish(hub, catalogue_token(people), LLAMA2, {"README.md": b"---\nlicense: llama2\n---\n# Llama 2\n"})
    publish(hub, people.alice, "acme/tiny", {"README.md": b"---\nlicense: apache-2.0\n---\n# Tiny\n", "m.gguf": b"G" * 2048})
    publish(hub, people.alice, "acme/llama", {"README.md": LLAMA_CARD.encode(), "w.bin": b"w",
                                              "LICENSE.md": b"ACME LICENSE\n"}, gating="manual")
    hub.access.request_access(people.caller(people.bob), "acme/llama", {**profile_form({"mau": "1000"})[0],
                                                                        "org": "bobco", "accepts_aup": True})
    hub.evals.add_eval(people.caller(people.alice), "acme/tiny", {
        "benchmark": "humaneval", "metric": "pass@1", "value": 0.2, "n": 1, "k": 1, "samples": 5,
        "settings": {"temperature": 0.0}, "at": "2026-11-23T10:00:00Z"})


# (who, path): every page, as the person who would open it
PAGES = [
    (None, "/"), (None, "/login"), (None, "/leaderboard"), (None, f"/models/{LLAMA2}"),
    ("bob", "/models/acme/llama"), ("bob", "/models/acme/llama?check=1&mau=800M&country=ZZ"),
    ("bob", "/models/acme/llama?check=1&mau=800M#answer"), ("bob", "/models/acme/llama/terms"),
    ("bob", "/models/nobody/nothing"), ("alice", "/models/acme/tiny"), ("alice", "/models/acme/tiny/chat"),
    ("alice", "/queue"), ("alice", "/models/acme/llama/manage"), ("admin", "/admin"), ("admin", "/audit"),
]


def english_strings() -> list[str]:
    """Interface strings of two words or more whose Italian differs: none may show on an Italian page."""
    table = i18n.catalogue("it")
    return sorted((m for m, t in table.items() if " " in m.strip() and t != m and "%(" not in m), key=len,
                  reverse=True)


@pytest.mark.parametrize(("lang", "width", "scheme"), [("en", "desktop", "light"), ("en", "phone", "light"),
                                                       ("it", "desktop", "light"), ("it", "phone", "light"),
                                                       ("en", "desktop", "dark")])
def test_every_page_is_clean(browser, people: People, live: str, lang: str, width: str, scheme: str,
                             artifacts_dir: Path) -> None:
    axe = axe_path().read_text()
    setup_hub(people)
    tokens = {"bob": people.bob, "alice": people.alice, "admin": people.admin}
    english = english_strings()
    problems: list[str] = []
    shots = artifacts_dir / "ui"
    shots.mkdir(exist_ok=True)
    for who in (None, "bob", "alice", "admin"):
        ctx = browser.new_context(viewport=WIDTHS[width], bypass_csp=True, color_scheme=scheme,
                                  extra_http_headers={"Accept-Language": lang})
        page = ctx.new_page()
        if who:
            sign_in(page, live, tokens[who])
        for owner, path in PAGES:
            if owner != who:
                continue
            page.goto(live + path)
            where = f"{path} as {who or 'anonymous'} ({lang}, {width}, {scheme})"
            assert page.locator("html").get_attribute("lang") == lang, where
            if overflow(page) > 0:
                problems.append(f"{where}: {overflow(page)}px of sideways scroll")
            problems += [f"{where}: {s}" for s in squeezed(page)]
            page.add_script_tag(content=axe)
            found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                                  ".filter(v => ['serious', 'critical'].includes(v.impact))"
                                  ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))")
            problems += [f"{where}: axe {v}" for v in found]
            if lang == "it":
                for text in page.evaluate(VISIBLE_TEXT):
                    left = [m for m in english if m in text]
                    if left or ENGLISH.search(text):
                        problems.append(f"{where}: untranslated {text[:120]!r}")
            name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "catalogue"
            if os.environ.get("APERTO_UI_SHOTS"):
                page.screenshot(path=str(shots / f"{name}-{lang}-{WIDTHS[width]['width']}.png"))
        ctx.close()
    assert problems == [], "\n".join(problems)
