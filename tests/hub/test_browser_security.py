"""Chromium against the hub's browser protections: a page on another port of the same host
(cookies are not port-scoped, and SameSite counts it as the same site) cannot make a
signed-in administrator's browser kill, resume, restore or sign in as someone else; a
hostile leaderboard row renders no javascript: link and runs nothing; no page breaks its
own CSP (no inline script), while an inline script put in is blocked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from hubtools import APACHE_CARD, People, publish
from livekit import serve_url
from test_browser import sign_in
from test_web_security import hostile_row

from aperto.store import tokens as token_rows

pytestmark = pytest.mark.slow


def attacker_app(hub_url: str) -> FastAPI:
    """Pages that post to the hub as soon as they load: forms (a top-level navigation,
    the cookie goes along) and a no-cors fetch with credentials."""
    app = FastAPI()

    def form(action: str, fields: dict[str, str]) -> str:
        inputs = "".join(f'<input name="{k}" value="{v}">' for k, v in fields.items())
        return (f'<form id="f" method="post" action="{hub_url}{action}">{inputs}</form>'
                '<script>document.getElementById("f").submit()</script>')

    @app.get("/form/{which}")
    def form_page(which: str, token: str = "") -> HTMLResponse:
        action, fields = {"kill": ("/api/kill", {}), "resume": ("/api/resume", {}),  # empty, as reported
                          "restore": ("/models/acme/open/restore", {"csrf": "guess"}),
                          "login": ("/login", {"token": token, "next": "/"})}[which]
        return HTMLResponse(form(action, fields))

    @app.get("/fetch")
    def fetch_page() -> HTMLResponse:
        return HTMLResponse("<p>hello</p>")

    return app


@pytest.fixture
def attacker(live: str) -> Iterator[str]:
    with serve_url(attacker_app(live)) as url:
        assert url.split(":")[1] == live.split(":")[1] and url != live  # same host, another port
        yield url


def test_another_port_cannot_act_for_a_signed_in_admin(browser, people: People, live: str,  # noqa: ANN001
                                                       attacker: str) -> None:
    hub = people.hub
    admin = hub.tokens.authenticate(people.admin)
    publish(hub, people.alice, "acme/open", {"README.md": APACHE_CARD.encode()})
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, people.admin)
    assert any(c["name"] == "aperto_session" for c in context.cookies(live))

    def visit(path: str) -> None:
        with page.expect_response(lambda r: r.url.startswith(live) and r.request.method == "POST") as answer:
            page.goto(f"{attacker}{path}")
        assert answer.value.status == 403, path

    visit("/form/kill")
    assert hub.control.kills() == []
    page.goto(f"{attacker}/fetch")
    for path, body in (("/api/kill", '{"reason": "pwned"}'), ("/api/resume", "{}")):
        page.evaluate("""([url, body]) => fetch(url, {method: "POST", mode: "no-cors", credentials: "include",
                                                     headers: {"Content-Type": "text/plain"}, body})""",
                      [f"{live}{path}", body])
    assert hub.control.kills() == []

    hub.control.kill(admin, None, "a real stop")
    visit("/form/resume")
    assert hub.control.kills()[0]["reason"] == "a real stop"

    hub.repos.withdraw(admin, "acme/open", "a real takedown")
    visit("/form/restore")
    assert hub.repos.repo("acme/open")["disabled"]

    visit(f"/form/login?token={people.bob}")  # login CSRF: sign the admin's browser in as bob
    with hub.store.read() as s:
        bob = token_rows.user_by_name(s, name="bob")
        assert token_rows.live_sessions(s, user_id=bob.id) == []
    page.goto(f"{live}/")
    assert page.locator(".who strong").inner_text() == "admin"  # still the admin's own session


def test_hostile_leaderboard_row_is_inert(browser, people: People, live: str,  # noqa: ANN001
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    publish(people.hub, people.alice, "acme/open", {"README.md": APACHE_CARD.encode()})
    hostile_row(people.hub, monkeypatch)
    page = browser.new_context().new_page()
    sign_in(page, live, people.admin)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live}/leaderboard")
    assert page.get_by_text("<img src=x onerror=alert(1)>").count() >= 1  # shown as text
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    assert page.locator("a[href^='javascript' i]").count() == 0
    assert dialogs == []


def test_pages_keep_their_csp(browser, people: People, live: str) -> None:  # noqa: ANN001
    publish(people.hub, people.alice, "acme/tiny", {"README.md": APACHE_CARD.encode(), "model.gguf": b"GGUF"})
    page = browser.new_context().new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: violations.append(str(e)))
    sign_in(page, live, people.admin)
    for path in ("/", "/login", "/leaderboard", "/models/acme/tiny", "/models/acme/tiny/chat", "/queue", "/audit"):
        answer = page.goto(f"{live}{path}")
        assert answer.status == 200, path
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
    assert violations == []
    # the listener does see a violation: an inline script is blocked and reported
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate("""() => { const s = document.createElement("script");
                                 s.textContent = "window.inlineRan = true"; document.body.append(s); }""")
    assert page.evaluate("window.inlineRan === undefined")
    assert any("Content Security Policy" in v for v in violations)
