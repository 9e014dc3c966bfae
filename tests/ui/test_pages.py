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
from uikit import WIDTHS, axe_path, english_strings, page_problems, sign_in, untranslated

from aperto.hub.routes.web_format import profile_form

pytestmark = pytest.mark.slow
LLAMA2 = "meta-llama/Llama-2-7b-hf"
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
            problems += page_problems(page, where, lang, axe, english)
            name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "catalogue"
            if os.environ.get("APERTO_UI_SHOTS"):
                page.screenshot(path=str(shots / f"{name}-{lang}-{WIDTHS[width]['width']}.png"))
        ctx.close()
    assert problems == [], "\n".join(problems)


# (who, path, what the Italian page must say): "Can I use it?" answers that between them give every
# kind of reason (user threshold, naming, notice, attribution, AUP accepted and refused, field of use, EU
# exclusion, no country, training other models, non-commercial), requests' outcomes, the queue and errors
CHECK = "?check=1&mau={mau}&country={country}&use={use}{flags}#answer"
ITALIAN = [
    ("bob", "/models/acme/vision" + CHECK.format(mau="800M", country="IT", use="commercial", flags=(
        "&multimodal=true&redistribute=true&hosted_service=true&publish_finetune=true&derivative_name=acme/Tuned")),
     "I diritti non sono concessi per i modelli multimodali"),
    ("bob", "/models/acme/vision" + CHECK.format(mau="10K", country="", use="commercial", flags="&multimodal=true"),
     "Non è stato dichiarato alcun paese"),
    ("bob", "/models/acme/vision" + CHECK.format(mau="0", country="US", use="research", flags="&aup=no"),
     "il richiedente non lo accetta"),
    ("bob", f"/models/{LLAMA2}" + CHECK.format(mau="0", country="US", use="internal",
                                               flags="&train_other_models=true&publish_finetune=true"),
     "Non è consentito usare il modello o i suoi output per addestrare"),
    ("bob", "/models/acme/nc" + CHECK.format(mau="0", country="FR", use="internal", flags=""),
     "L'uso interno di un'impresa è rivolto a un vantaggio commerciale."),
    ("bob", "/models/acme/vision", "il paese dichiarato è DE"), ("bob", "/models/acme/llama", "revisione manuale"),
    ("carol", "/models/acme/llama2", "in attesa del licenziante: §2: Gli utenti attivi mensili"),
    ("carol", "/models/acme/vision", "concesso automaticamente"),
    ("alice", "/queue", "800.000.000 utenti mensili"), ("alice", "/models/acme/llama2/manage", "in attesa del licenziante"),
    ("bob", "/models/nobody/nothing", "Repository nobody/nothing non trovato"),
    ("bob", "/audit", "solo gli amministratori gestiscono"), ("bob", "/models/acme/tiny/terms", "non ha un file di licenza"),
    ("bob", "/lang/xx", "nessuna lingua"), (None, "/acme/llama/resolve/main/w.bin", "accesso controllato"),
]


def test_italian_pages_say_the_policy_and_the_errors_in_italian(browser, people: People, live: str) -> None:
    """Every reason kind, a request's outcome, the queue and the error pages, in Italian: the test fails on
    any English sentence or template fragment outside what is marked as data (translate="no") or as not
    yet translated (lang="en": clause summaries the clauses catalogue does not have)."""
    hub = people.hub
    setup_hub(people)
    root = people.caller(people.admin)
    hub.tokens.create_user(root, "carol")
    carol = hub.tokens.create_token(root, "carol", ["read"])
    for repo, lic, gating in (("acme/vision", "llama3.2", "auto"), ("acme/llama2", "llama2", "auto"),
                              ("acme/nc", "cc-by-nc-4.0", None)):
        publish(hub, people.alice, repo, {"README.md": f"---\nlicense: {lic}\n---\n# {repo}\n".encode(), "w.bin": b"w"},
                gating=gating)
    declare = {"org": "bobco", "accepts_aup": True, "mau": 0, "affiliates_mau": 0}
    hub.access.request_access(people.caller(people.bob), "acme/vision",
                              {**declare, "country": "IT", "multimodal": True})  # rejected: EU, multimodal
    hub.access.request_access(people.caller(people.bob), "acme/vision", {**declare, "country": "DE",
                                                                         "multimodal": True})
    hub.access.request_access(people.caller(carol), "acme/vision", {**declare, "country": "US"})
    hub.access.request_access(people.caller(carol), "acme/llama2", {**declare, "mau": 800_000_000})
    tokens = {"bob": people.bob, "alice": people.alice, "carol": carol}
    english = english_strings()
    problems: list[str] = []
    for who in (None, "bob", "carol", "alice"):
        ctx = browser.new_context(extra_http_headers={"Accept-Language": "it"})
        page = ctx.new_page()
        if who:
            sign_in(page, live, tokens[who])
        for owner, path, said in ITALIAN:
            if owner != who:
                continue
            page.goto(live + path)
            where = f"{path} as {who or 'anonymous'}"
            assert page.locator("html").get_attribute("lang") == "it", where
            if said not in page.locator("main").inner_text():
                problems.append(f"{where}: does not say {said!r}")
            problems += untranslated(page, where, english)
        ctx.close()
    assert problems == [], "\n".join(problems)
