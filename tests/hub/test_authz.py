"""Every route in the OpenAPI schema, called by an outsider (anonymous, and an ordinary
user with no grant), leaks no gated bytes, no other user's request, and performs no
licensor or admin action. New routes are covered automatically."""

from __future__ import annotations

import hashlib
import re

import pytest
from fastapi.testclient import TestClient
from hubtools import LLAMA_CARD, People, auth, publish

SECRET = b"GATED-WEIGHTS-" + bytes(range(256)) * 4
SECRET_SHA = hashlib.sha256(SECRET).hexdigest()
# what an ordinary user may legitimately change: their own access request, their own tokens
ALLOWED_FOR_USER = {("POST", "/api/models/{org}/{name}/access-request"), ("POST", "/api/tokens")}
BODY = {"user": "carol", "status": "accepted", "reason": "because", "repo": None, "gated": False, "gating": "open",
        "name": "eve", "is_admin": True, "scopes": ["admin"], "files": [{"path": "x", "sha256": SECRET_SHA,
                                                                         "size": len(SECRET)}],
        "benchmark": "humaneval", "metric": "pass@1", "value": 1.0, "org": "bobco", "mau": 1,
        "use": "research", "accepts_aup": True, "rejectionReason": "no"}
PARAMS = {"org": "acme", "name": "gated", "rev": "main", "path": "w.bin", "status": "pending", "sha256": SECRET_SHA,
          "benchmark": "humaneval", "eval_id": "1", "run_id": "0", "branch": "b1", "tag": "v1",
          "webhook_id": "1", "action": "disable", "invite_id": "1"}
# POSTs that only read (as on the Hugging Face Hub): held to the rules of a GET
READ_POSTS = {("POST", "/api/models/{org}/{name}/paths-info/{rev}")}


def routes(client: TestClient) -> list[tuple[str, str]]:
    schema = client.get("/openapi.json").json()
    return [(method.upper(), path) for path, ops in schema["paths"].items() for method in ops]


@pytest.fixture
def world(people: People, client: TestClient) -> People:
    publish(people.hub, people.alice, "acme/gated", {"README.md": LLAMA_CARD.encode(), "w.bin": SECRET},
            gating="manual")
    root = people.hub.tokens.authenticate(people.admin)
    people.hub.tokens.create_user(root, "carol")
    carol = people.hub.tokens.authenticate(people.hub.tokens.create_token(root, "carol", ["read"]))
    people.hub.access.request_access(carol, "acme/gated", {"org": "carolco-private", "mau": 5, "use": "research",
                                                    "accepts_aup": True})
    return people


@pytest.mark.parametrize("who", ["anonymous", "bob"])
def test_no_route_leaks_to_an_outsider(world: People, client: TestClient, who: str) -> None:
    headers = auth(world.bob) if who == "bob" else {}
    found = routes(client)
    assert len(found) >= 30
    checked = 0
    for method, template in found:
        if template == "/api/events/stream" and who == "bob":
            continue  # answered 403 before streaming; checked in test_api
        url = re.sub(r"\{(\w+)(?::path)?\}", lambda m: PARAMS[m.group(1)], template)
        kwargs: dict = {"headers": headers}
        if method in ("POST", "PUT", "PATCH"):
            if "/upload/" in template:
                kwargs.update(content=SECRET, params={"size": len(SECRET)})
            else:
                kwargs["json"] = BODY
        if "/events" in template:
            kwargs["params"] = {"wait": 0}
        r = client.request(method, url, **kwargs)
        checked += 1
        assert r.status_code < 500, (method, template, r.text)
        assert SECRET[:64] not in r.content, (method, template)
        assert b"carolco-private" not in r.content, (method, template)
        if method != "GET" and (method, template) not in ALLOWED_FOR_USER | READ_POSTS:
            assert r.status_code in (401, 403, 404, 400, 409, 422), (method, template, r.status_code)
            if who == "anonymous":
                assert r.status_code in (401, 403, 404, 422), (method, template, r.status_code)
    assert checked >= 30
    # nothing changed for the licensor, the admin or carol
    hub = world.hub
    alice = hub.tokens.authenticate(world.alice)
    pending = [r["user"]["user"] for r in hub.access.list_requests(alice, "acme/gated", "pending")]
    assert "carol" in pending and set(pending) <= {"carol", "bob"}  # bob may ask for himself
    assert hub.access.list_requests(alice, "acme/gated", "accepted") == []
    assert hub.repos.repo("acme/gated")["gating"] == "manual" and not hub.repos.repo("acme/gated")["disabled"]
    assert hub.control.kills() == []
    assert not hub.repos.can_download(hub.tokens.authenticate(world.bob), "acme/gated")
    assert hub.audit.verify_audit()["ok"]


def test_admin_only_reads_refuse_ordinary_users(world: People, client: TestClient) -> None:
    for path in ("/api/audit", "/api/audit/verify", "/api/events", "/api/gateway/state",
                 "/api/models/acme/gated/grants", "/api/models/acme/gated/user-access-request/pending"):
        assert client.get(path, headers=auth(world.bob)).status_code == 403, path
        assert client.get(path).status_code == 401, path
    mine = client.get("/api/tokens", headers=auth(world.bob)).json()
    assert {t["user"] for t in mine} == {"bob"}


def state_changes(client: TestClient) -> list[tuple[str, str]]:
    """Every non-safe method of every route: the API's (in the OpenAPI schema) and the pages' forms."""
    from fastapi.routing import APIRoute

    def walk(items: list) -> list[APIRoute]:  # included routers nest (FastAPI keeps them as wrappers)
        out = []
        for r in items:
            if isinstance(r, APIRoute):
                out.append(r)
            elif hasattr(r, "original_router"):
                out += walk(r.original_router.routes)
        return out

    found = {(m, r.path_format) for r in walk(client.app.routes) for m in r.methods
             if m not in ("GET", "HEAD", "OPTIONS")}
    assert {(m, p) for m, p in routes(client) if m not in ("GET", "HEAD")} <= found  # the schema's are all here
    assert ("POST", "/login") in found and ("POST", "/models/{org}/{name}/kill") in found  # and the pages'
    return sorted(found)


@pytest.mark.parametrize("attack", ["no token", "foreign origin"])
def test_no_cookie_change_without_csrf(world: People, client: TestClient, attack: str) -> None:
    """Signed in as the administrator in a browser, a request that another site could make
    (no CSRF token; or the token but from another origin) changes nothing, on any route."""
    from test_web import sign_in

    csrf = sign_in(client, world.admin)
    checked = 0
    for method, template in state_changes(client):
        url = re.sub(r"\{(\w+)(?::path)?\}", lambda m: PARAMS.get(m.group(1), "x1"), template)  # any value: refused first
        headers = {"Origin": "http://127.0.0.1:1", "X-CSRF-Token": csrf} if attack == "foreign origin" else {}
        for body in ({"json": BODY}, {"data": {**{k: str(v) for k, v in BODY.items()}, "token": world.admin}}):
            r = client.request(method, url, headers=headers, **body)
            assert r.status_code == 403, (method, template, r.status_code, r.text[:200])
            assert ("another site" in r.text) if attack == "foreign origin" or template == "/login" \
                else ("CSRF" in r.text), (method, template)
            checked += 1
    assert checked >= 2 * 25
    hub = world.hub
    assert hub.control.kills() == [] and hub.repos.repo("acme/gated")["gating"] == "manual"
    assert not hub.repos.repo("acme/gated")["disabled"]
    assert hub.access.list_requests(hub.tokens.authenticate(world.alice), "acme/gated", "accepted") == []
    assert {u["name"] for u in hub.tokens.users(hub.tokens.authenticate(world.admin))} == \
        {"admin", "alice", "bob", "gw", "carol"}
    # the same session with its token from this hub's own origin does act: the refusals above were the check
    r = client.post("/api/kill", json={"reason": "drill"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and hub.control.kills()[0]["reason"] == "drill"
