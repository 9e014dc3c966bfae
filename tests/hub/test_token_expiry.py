"""Token expiry, end to end on SQLite and PostgreSQL: the API takes it and refuses a past one, an
expired token is refused exactly like a revoked one (also from the token cache of the hot read
paths), a browser session ends with its token, and the gateway learns the expiry through the
event feed and the snapshot (the same typed classes on both sides)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from hubtools import APACHE_CARD, People, auth, publish

from aperto import events
from aperto.errors import BadInput, Forbidden, InvalidToken
from aperto.gateway.policy import InvalidApiKey, Policy, sha256
from aperto.hub import cache, sessions, tokens
from aperto.hub.auth import token_hash
from aperto.hub.tokens import parse_expiry

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def travel(monkeypatch: pytest.MonkeyPatch, days: float) -> None:
    """Move the hub's clock forward, as if that many days had passed."""
    later = datetime.now(UTC) + timedelta(days=days)
    for module in (tokens, cache, sessions):
        monkeypatch.setattr(module, "utcnow", lambda: later)


def test_expiry_forms_and_refusals() -> None:
    assert parse_expiry(None, NOW) is None and parse_expiry("never", NOW) is None
    assert parse_expiry("30d", NOW) == parse_expiry(30, NOW) == NOW + timedelta(days=30)
    assert parse_expiry("2027-04-01", NOW) == datetime(2027, 4, 1, tzinfo=UTC)
    assert parse_expiry("2027-03-01T13:00:00Z", NOW) == NOW + timedelta(hours=1)
    assert parse_expiry("2027-03-01T15:00:00+02:00", NOW).tzinfo == UTC
    for bad, words in (("2027-03-01", "in the past"), ("2020-01-01", "in the past"), ("0", "out of range"),
                       ("soon", "cannot read"), (True, "cannot read"), ("2099-01-01", "more than 3650 days")):
        with pytest.raises(BadInput, match=words) as err:
            parse_expiry(bad, NOW)
        assert err.value.hint and err.value.details["field"] == "expires"


def test_api_takes_an_expiry_and_refuses_a_past_one(people: People, client: TestClient) -> None:
    r = client.post("/api/tokens", headers=auth(people.admin), json={"user": "bob", "expires_in_days": 30})
    assert r.status_code == 200, r.text
    until = datetime.fromisoformat(r.json()["expires_at"])
    assert timedelta(days=29) < until - datetime.now(UTC) <= timedelta(days=30)
    listed = {t["sha256"]: t for t in client.get("/api/tokens", headers=auth(people.admin)).json()}
    assert listed[token_hash(r.json()["token"])]["expires_at"] == r.json()["expires_at"]
    assert client.get("/api/whoami-v2", headers=auth(r.json()["token"])).status_code == 200
    for body, words in (({"expires_at": "2020-01-01"}, "in the past"), ({"expires_in_days": "30"}, "whole number"),
                        ({"expires_in_days": 5, "expires_at": "2030-01-01"}, "not both"),
                        ({"expires_at": "next week"}, "cannot read")):
        r = client.post("/api/tokens", headers=auth(people.admin), json={"user": "bob", **body})
        assert r.status_code == 400 and words in r.json()["error"], (body, r.text)
        assert r.json()["hint"]
    r = client.post("/api/tokens", headers=auth(people.admin), json={"user": "bob", "expires_at": "2099-12-31"})
    assert r.status_code == 400 and "3650" in r.json()["error"]
    # an offset other than UTC means the same moment on every database
    at = (datetime.now(UTC) + timedelta(days=2)).astimezone(timezone(timedelta(hours=-5))).isoformat()
    r = client.post("/api/tokens", headers=auth(people.admin), json={"user": "bob", "expires_at": at})
    listed = {t["sha256"]: t for t in client.get("/api/tokens", headers=auth(people.admin)).json()}
    stored = datetime.fromisoformat(listed[token_hash(r.json()["token"])]["expires_at"])
    assert abs(stored - datetime.fromisoformat(at)) < timedelta(seconds=1)


def test_an_expired_token_is_refused_like_a_revoked_one(people: People, client: TestClient,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    publish(people.hub, people.alice, "acme/tiny", {"README.md": APACHE_CARD.encode()})
    root = people.caller(people.admin)
    short = people.hub.tokens.create_token(root, "bob", ["read"], expires="1d")
    gone = people.hub.tokens.create_token(root, "bob", ["read"])
    people.hub.tokens.revoke_token(root, gone)
    for path in ("/api/whoami-v2", "/api/models/acme/tiny"):  # the second is answered from the token cache
        assert client.get(path, headers=auth(short)).status_code == 200
    assert people.hub.tokens.cache.peek(short) is not None
    travel(monkeypatch, 1.01)
    for path in ("/api/whoami-v2", "/api/models/acme/tiny", "/api/tokens"):
        expired, revoked = client.get(path, headers=auth(short)), client.get(path, headers=auth(gone))
        assert expired.status_code == revoked.status_code == 401, path
        assert expired.json() == revoked.json(), path
    with pytest.raises(InvalidToken):
        people.hub.sessions.start(short)
    assert client.get("/api/whoami-v2", headers=auth(people.bob)).status_code == 200  # tokens without expiry live on


def test_a_token_cannot_outlive_its_maker(people: People) -> None:
    root = people.caller(people.admin)
    short = people.caller(people.hub.tokens.create_token(root, "bob", ["read"], expires="2d"))
    with pytest.raises(Forbidden, match="outlive"):
        people.hub.tokens.create_token(short, "bob", ["read"])
    with pytest.raises(Forbidden, match="outlive"):
        people.hub.tokens.create_token(short, "bob", ["read"], expires="3d")
    assert people.hub.tokens.create_token(short, "bob", ["read"], expires="1d").startswith("aperto_")


def test_a_session_ends_with_its_token(people: People, monkeypatch: pytest.MonkeyPatch) -> None:
    in_two_hours = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    token = people.hub.tokens.create_token(people.caller(people.admin), "bob", ["read"], expires=in_two_hours)
    session = people.hub.sessions.start(token)
    assert people.hub.sessions.authenticate(session).name == "bob"
    assert people.hub.settings.web_session_hours > 3
    travel(monkeypatch, 3 / 24)  # inside web_session_hours, past the token's expiry
    with pytest.raises(InvalidToken):
        people.hub.sessions.authenticate(session)


def test_the_gateway_learns_the_expiry_from_the_feed_and_the_snapshot(people: People, client: TestClient) -> None:
    """The hub writes the expiry into token-created and the snapshot; the gateway's Policy refuses
    the token once its clock passes it. Either side dropping the field fails this test."""
    publish(people.hub, people.alice, "acme/tiny", {"README.md": APACHE_CARD.encode()}, gating="open")
    token = people.hub.tokens.create_token(people.caller(people.admin), "bob", ["read"], expires="1d")
    feed = client.get("/api/events", params={"after": 0}, headers=auth(people.gw)).json()["events"]
    state = client.get("/api/gateway/state", headers=auth(people.gw)).json()
    from_feed, from_snapshot = Policy(60.0), Policy(60.0)
    from_feed.load(events.Snapshot())
    for raw in feed:
        from_feed.apply(events.parse_event(raw))
    from_snapshot.load(events.parse_snapshot(state))
    sha = sha256(token)
    for policy in (from_feed, from_snapshot):
        policy.heard = float("inf")  # fresh: only the token decides
        policy.open_repos.add("acme/tiny")
        assert policy.denial(sha, "acme/tiny") is None
        policy.clock = lambda: time.time() + 1.01 * 86400
        assert isinstance(policy.denial(sha, "acme/tiny"), InvalidApiKey)
        assert policy.user(sha) is None and not policy.may_use(sha, "acme/tiny")
        assert policy.denial(sha256(people.bob), "acme/tiny") is None  # a token without expiry still works


def test_the_snapshot_leaves_out_expired_tokens(people: People, client: TestClient,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from aperto.hub import control

    token = people.hub.tokens.create_token(people.caller(people.admin), "bob", ["read"], expires="1d")
    state = client.get("/api/gateway/state", headers=auth(people.gw)).json()
    assert sha256(token) in {t["sha256"] for t in state["tokens"]}
    later = datetime.now(UTC) + timedelta(days=1.01)
    monkeypatch.setattr(control, "utcnow", lambda: later)
    state = client.get("/api/gateway/state", headers=auth(people.gw)).json()
    shas = {t["sha256"] for t in state["tokens"]}
    assert sha256(token) not in shas and sha256(people.bob) in shas
