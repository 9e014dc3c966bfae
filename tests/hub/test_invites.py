"""Invitation links through the API, on SQLite and PostgreSQL: an administrator makes one, the
newcomer uses it once, a used, withdrawn, expired or unknown link is refused with the reason,
only the code's hash is stored, and every step is in the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hubtools import People, auth

from aperto.errors import InvalidToken
from aperto.hub import invites
from aperto.hub.auth import token_hash
from aperto.hub.sessions import csrf_for
from aperto.store import tokens as rows


def make(client: TestClient, token: str, **body) -> dict:
    r = client.post("/api/invites", headers=auth(token), json=body)
    assert r.status_code == 200, r.text
    return r.json()


def accept(client: TestClient, code: str, name: str):  # noqa: ANN201
    return client.post("/api/invites/accept", json={"code": code, "name": name})


def test_an_invite_opens_one_account(people: People, client: TestClient) -> None:
    made = make(client, people.admin, role="publisher", org="carolco", days=3)
    assert made["path"] == f"/invite/{made['code']}" and made["role"] == "publisher"
    assert timedelta(days=2.9) < datetime.fromisoformat(made["expires_at"]) - datetime.now(UTC) <= timedelta(days=3)
    pending = client.get("/api/invites", headers=auth(people.admin)).json()
    assert [(i["id"], i["state"], i["org"]) for i in pending] == [(made["id"], "open", "carolco")]
    assert "code" not in pending[0]
    r = accept(client, made["code"], "carol")
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    me = client.get("/api/whoami-v2", headers=auth(token)).json()
    assert me["name"] == "carol" and me["orgs"] == [{"name": "carolco", "type": "org"}] and not me["isAdmin"]
    assert me["auth"]["accessToken"]["scopes"] == ["publish", "read"]
    again = accept(client, made["code"], "carol2")
    assert again.status_code == 409 and "already been used" in again.json()["error"] and again.json()["hint"]
    assert client.get("/api/invites", headers=auth(people.admin)).json() == []
    with people.hub.store.read() as s:  # only the hash of the code is kept
        row = rows.invite_by_id(s, invite_id=made["id"])
        assert row is not None and row.sha256 == token_hash(made["code"]) and made["code"] not in repr(vars(row))
    actions = [(a["actor"], a["action"]) for a in people.hub.audit.audit_rows(people.caller(people.admin), 0, 1000)]
    assert ("admin", "invite.create") in actions and ("carol", "invite.accept") in actions
    assert ("carol", "user.create") in actions and ("carol", "token.create") in actions


def test_refusals_say_why(people: People, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert accept(client, "no-such-code", "dave").status_code == 404
    withdrawn = make(client, people.admin)
    r = client.delete(f"/api/invites/{withdrawn['id']}", headers=auth(people.admin))
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    r = accept(client, withdrawn["code"], "dave")
    assert r.status_code == 409 and "withdrawn" in r.json()["error"]
    taken = make(client, people.admin)
    r = accept(client, taken["code"], "bob")
    assert r.status_code == 409 and "exists" in r.json()["error"]
    assert accept(client, taken["code"], "not a name!").status_code == 400
    assert accept(client, taken["code"], "dave").status_code == 200  # still usable after those refusals
    late = make(client, people.admin, days=1)
    later = datetime.now(UTC) + timedelta(days=1.01)
    monkeypatch.setattr(invites, "utcnow", lambda: later)
    r = accept(client, late["code"], "erin")
    assert r.status_code == 409 and "expired" in r.json()["error"]
    assert client.get("/api/invites", headers=auth(people.admin)).json() == []
    for body, field in (({"role": "root"}, "role"), ({"days": 31}, "days"), ({"days": "soon"}, "days"),
                        ({"org": "bad org"}, "organisation")):
        r = client.post("/api/invites", headers=auth(people.admin), json=body)
        assert r.status_code == 400 and field in r.text, body
    revoked = [a for a in people.hub.audit.audit_rows(people.caller(people.admin), 0, 1000)
               if a["action"] == "invite.revoke"]
    assert len(revoked) == 1


def test_who_may_invite_whom(people: People, client: TestClient) -> None:
    for token in (people.alice, people.bob, people.gw):
        assert client.post("/api/invites", headers=auth(token), json={}).status_code == 403
        assert client.get("/api/invites", headers=auth(token)).status_code == 403
    assert client.post("/api/invites", json={}).status_code == 401
    # an administrator's bearer token may invite another administrator ...
    made = make(client, people.admin, role="admin")
    root = accept(client, made["code"], "root2").json()["token"]
    assert client.get("/api/whoami-v2", headers=auth(root)).json()["isAdmin"]
    # ... a browser session may not
    session = people.hub.sessions.start(people.admin)
    client.cookies.set("aperto_session", session)
    headers = {"X-CSRF-Token": csrf_for(session), "Origin": str(client.base_url)}
    r = client.post("/api/invites", headers=headers, json={"role": "admin"})
    assert r.status_code == 403 and "browser session" in r.json()["error"]
    assert client.post("/api/invites", headers=headers, json={"role": "reader"}).status_code == 200


def test_the_invitation_page(people: People, client: TestClient) -> None:
    """In-process, the web form's edges: a stale form, a taken name, a visitor who is signed in."""
    made = make(client, people.admin, role="reader")
    page = client.get(made["path"])
    assert page.status_code == 200 and 'id="invite-form"' in page.text
    csrf = page.text.split('name="invite_csrf" value="')[1].split('"')[0]
    origin = {"Origin": str(client.base_url)}
    stale = client.post(made["path"], data={"name": "frank", "invite_csrf": "forged"}, headers=origin)
    assert stale.status_code == 403 and "stale" in stale.text and 'id="invite-form"' in stale.text
    csrf = stale.text.split('name="invite_csrf" value="')[1].split('"')[0]  # the renewed form
    taken = client.post(made["path"], data={"name": "bob", "invite_csrf": csrf}, headers=origin)
    assert taken.status_code == 409 and 'id="inv-name-err"' in taken.text
    # bob is signed in in this browser: accepting needs his session's CSRF token too, and signs him out
    bob_session = people.hub.sessions.start(people.bob)
    client.cookies.set("aperto_session", bob_session)
    page = client.get(made["path"])
    assert "You are signed in as bob" in page.text
    csrf = page.text.split('name="invite_csrf" value="')[1].split('"')[0]
    without = client.post(made["path"], data={"name": "frank", "invite_csrf": csrf}, headers=origin)
    assert without.status_code == 403  # the middleware wants the session's token
    done = client.post(made["path"], headers=origin,
                       data={"name": "frank", "invite_csrf": csrf, "csrf": csrf_for(bob_session)})
    assert done.status_code == 200 and 'id="new-token"' in done.text
    assert people.hub.sessions.authenticate(done.cookies.get("aperto_session")).name == "frank"
    with pytest.raises(InvalidToken, match="ended"):
        people.hub.sessions.authenticate(bob_session)
    assert client.get(made["path"]).status_code == 410
