"""The browser security layer in-process: sessions instead of tokens in cookies, CSRF and
same-origin checks on every cookie-authenticated change, the sign-in form's own token,
security headers, and links from data only when they are http(s)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from hubtools import APACHE_CARD, People, auth, publish
from test_web import login_form, sign_in

from aperto.hub.auth import token_hash, utcnow
from aperto.hub.routes.web_base import http_url
from aperto.hub.service import Hub
from aperto.store import tokens as token_rows

FOREIGN = "http://127.0.0.1:1"  # another port of the same host: cookies are not port-scoped


def session_cookie(client: TestClient) -> str:
    return client.cookies["aperto_session"]


def test_the_cookie_is_a_session_not_the_token(client: TestClient, people: People, hub: Hub) -> None:
    sign_in(client, people.admin)
    sid = session_cookie(client)
    assert people.admin not in sid and not sid.startswith("aperto_")
    with hub.store.read() as s:
        row, user = token_rows.session_with_user(s, sha256=token_hash(sid))
        assert user.name == "admin" and set(row.scopes.split()) == {"admin", "read", "publish"}
        assert timedelta(hours=11) < row.expires_at.replace(tzinfo=None) - row.created_at.replace(tzinfo=None) \
            <= timedelta(hours=12)
    assert client.get("/api/whoami-v2").json()["name"] == "admin"  # the session works on the API too
    actions = [a["action"] for a in hub.audit.iter_audit()]
    assert "session.start" in actions


def test_logout_revokes_the_session_on_the_server(client: TestClient, people: People) -> None:
    csrf = sign_in(client, people.bob)
    sid = session_cookie(client)
    r = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "aperto_session=" in r.headers["set-cookie"]
    client.cookies.set("aperto_session", sid)  # a copy of the cookie kept by a thief
    r = client.get("/api/whoami-v2")
    assert r.status_code == 401 and "sign in again" in r.json()["hint"]
    assert "Signed in as" not in client.get("/").text


def test_expired_and_token_revoked_sessions_end(client: TestClient, people: People, hub: Hub) -> None:
    sign_in(client, people.bob)
    with hub.store.write() as s:
        row, _ = token_rows.session_with_user(s, sha256=token_hash(session_cookie(client)))
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert client.get("/api/whoami-v2").status_code == 401
    client.cookies.clear()
    sign_in(client, people.bob)
    assert client.get("/api/whoami-v2").status_code == 200
    hub.tokens.revoke_token(hub.tokens.authenticate(people.admin), people.bob)
    assert client.get("/api/whoami-v2").status_code == 401  # the token it came from is revoked


def test_cookie_changes_need_csrf_and_same_origin(client: TestClient, people: People, hub: Hub) -> None:
    csrf = sign_in(client, people.admin)
    client.headers.pop("origin")
    r = client.post("/api/kill", json={"reason": "x"})  # what the other-port page did
    assert r.status_code == 403 and "another site" in r.json()["error"]
    r = client.post("/api/kill", json={"reason": "x"}, headers={"Origin": FOREIGN, "X-CSRF-Token": csrf})
    assert r.status_code == 403 and "another site" in r.json()["error"]
    r = client.post("/api/kill", json={"reason": "x"}, headers={"Origin": "null", "X-CSRF-Token": csrf})
    assert r.status_code == 403
    r = client.post("/api/kill", json={"reason": "x"}, headers={"Origin": "http://testserver"})
    assert r.status_code == 403 and "CSRF token" in r.json()["error"] and r.json()["hint"]
    r = client.post("/api/kill", json={"reason": "x"}, headers={"Origin": "http://testserver", "X-CSRF-Token": "0" * 40})
    assert r.status_code == 403
    assert hub.control.kills() == []
    # Referer stands in for a missing Origin
    r = client.post("/api/kill", json={"reason": "drill"},
                    headers={"Referer": "http://testserver/models/x", "X-CSRF-Token": csrf})
    assert r.status_code == 200 and hub.control.kills()[0]["reason"] == "drill"
    r = client.post("/api/resume", json={}, headers={"Referer": f"{FOREIGN}/", "X-CSRF-Token": csrf})
    assert r.status_code == 403 and hub.control.kills() != []


def test_bearer_calls_are_unchanged(client: TestClient, people: People, hub: Hub) -> None:
    sign_in(client, people.bob)  # a session cookie alongside does not matter
    client.headers.pop("origin")
    r = client.post("/api/kill", json={"reason": "cli"}, headers=auth(people.admin))
    assert r.status_code == 200 and hub.control.kills()[0]["reason"] == "cli"
    assert client.post("/api/resume", json={}, headers=auth(people.admin)).status_code == 200


def test_form_fields_urlencoded_and_multipart(client: TestClient, people: People, hub: Hub) -> None:
    publish(hub, people.alice, "acme/open", {"README.md": APACHE_CARD.encode()})
    csrf = sign_in(client, people.admin)
    r = client.post("/models/acme/open/takedown", files={"csrf": (None, csrf), "reason": (None, "multipart")},
                    follow_redirects=False)
    assert r.status_code == 303 and hub.repos.repo("acme/open")["disabled"]
    r = client.post("/models/acme/open/restore", data={"csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 403 and hub.repos.repo("acme/open")["disabled"]
    r = client.post("/models/acme/open/restore", data={"csrf": csrf}, headers={"Origin": FOREIGN},
                    follow_redirects=False)
    assert r.status_code == 403 and hub.repos.repo("acme/open")["disabled"]
    r = client.post("/models/acme/open/restore", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and not hub.repos.repo("acme/open")["disabled"]
    r = client.post("/models/acme/open/takedown", data={"reason": "x" * (2 * 1024 * 1024)})
    assert r.status_code == 413 and "X-CSRF-Token" in r.json()["hint"]


def test_login_is_csrf_protected(client: TestClient, people: People) -> None:
    r = client.post("/login", data={"token": people.bob}, follow_redirects=False)  # no form token, no nonce
    assert r.status_code == 403 and "another site" in r.text
    token = login_form(client)
    r = client.post("/login", data={"token": people.bob, "csrf": token}, headers={"Origin": FOREIGN},
                    follow_redirects=False)
    assert r.status_code == 403 and "aperto_session" not in client.cookies
    client.cookies.set("aperto_login", "attacker-chosen", path="/login")  # a cookie set from another port
    r = client.post("/login", data={"token": people.bob, "csrf": token}, follow_redirects=False)
    assert r.status_code == 403 and "aperto_session" not in client.cookies
    r = client.post("/login", data={"token": people.bob, "csrf": login_form(client)}, follow_redirects=False)
    assert r.status_code == 303 and "aperto_session" in client.cookies


@pytest.mark.parametrize("path", ["/", "/login", "/leaderboard", "/models/acme/open", "/api/models"])
def test_security_headers(client: TestClient, people: People, hub: Hub, path: str) -> None:
    publish(hub, people.alice, "acme/open", {"README.md": APACHE_CARD.encode()})
    r = client.get(path)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "same-origin"
    if path != "/api/models":
        assert "<script>" not in r.text and not re.search(r"\son[a-z]+=", r.text)  # no inline script or handler


def test_a_legacy_token_cookie_is_erased(client: TestClient, people: People) -> None:
    client.cookies.set("aperto_token", people.admin)
    r = client.get("/")
    assert "Signed in as" not in r.text  # a raw token in a cookie signs nobody in any more
    assert any(c.startswith("aperto_token=;") for c in r.headers.get_list("set-cookie"))


def test_links_from_data_are_http_only() -> None:
    assert http_url("https://arxiv.org/abs/2307.09288") == "https://arxiv.org/abs/2307.09288"
    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "//evil.example", "http:evil",
                "vbscript:x", "", None, "http://[::1"):
        assert http_url(bad) == "", bad


def test_hostile_leaderboard_rows_render_inert(client: TestClient, people: People, hub: Hub,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    publish(hub, people.alice, "acme/open", {"README.md": APACHE_CARD.encode()})
    hostile_row(hub, monkeypatch)
    page = client.get("/leaderboard").text
    assert "javascript:" not in page
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page  # table and SVG chart alike


def hostile_row(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stored result with markup in its metric (old data, written past validation) and a
    published row whose url is javascript: (as the catalogue's rows carry urls)."""
    from aperto.store import evals as eval_rows
    from aperto.store import repos as repo_rows

    with hub.store.write() as s:
        repo = repo_rows.repo_by_name(s, name="acme/open")
        eval_rows.add(s, repo_id=repo.id, by="alice", data={
            "benchmark": "humaneval", "metric": "<script>alert(1)</script>", "value": 0.5})
    real = hub.evals.leaderboard

    def with_hostile(benchmark: str = "humaneval") -> list[dict]:
        return [*real(benchmark), {"model": "evil/model", "metric": "pass@1", "value": 99.0,
                                   "source": "<img src=x onerror=alert(1)>", "url": "javascript:alert(document.cookie)"}]

    monkeypatch.setattr(hub.evals, "leaderboard", with_hostile)


def test_a_session_cannot_mint_tokens(client: TestClient, people: People, hub: Hub) -> None:
    """A stolen cookie (whose CSRF token follows from it) stays one session: no lasting token from it."""
    csrf = sign_in(client, people.admin)
    before = len(hub.tokens.list_tokens(hub.tokens.authenticate(people.admin)))
    for user, scopes in (("admin", ["admin"]), ("bob", ["read"])):
        r = client.post("/api/tokens", json={"user": user, "scopes": scopes}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403 and "browser session" in r.json()["error"]
    assert len(hub.tokens.list_tokens(hub.tokens.authenticate(people.admin))) == before
    r = client.post("/api/tokens", json={"user": "bob", "scopes": ["read"]}, headers=auth(people.admin))
    assert r.status_code == 200  # with a token, as before


def test_after_a_restart_chat_asks_to_sign_in_again(client: TestClient, people: People, hub: Hub) -> None:
    """The token behind a session lives in memory only: a new process cannot act with it."""
    publish(hub, people.alice, "acme/tiny", {"README.md": APACHE_CARD.encode(), "model.gguf": b"GGUF"})
    csrf = sign_in(client, people.bob)
    hub.sessions._tokens.clear()  # what a restart leaves: the session row, no token
    r = client.post("/models/acme/tiny/chat/stream", json={"messages": [{"role": "user", "content": "hi"}]},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 401 and "sign in again" in r.json()["hint"]
    assert "Signed in as" in client.get("/").text  # pages keep working
