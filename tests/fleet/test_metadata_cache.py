"""The metadata cache (hub/cache.py MetadataCache) on two hub replicas sharing one PostgreSQL and one
blob folder: every change made through replica a is answered correctly by a on the next request and
by b as soon as a's NOTIFY arrives. Each test warms both caches first, so a stale answer would show."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fleetkit import until
from livekit import serve_url

from aperto.config import Settings
from aperto.hub.app import create_app
from aperto.hub.service import Hub

APACHE = {"README.md": b"---\nlicense: apache-2.0\n---\n# Tiny\n", "weights.bin": b"w" * 64}
GATED = {"README.md": b"---\nlicense: llama3.1\n---\n# Tiny Llama\n", "weights.bin": b"g" * 64}


@dataclass
class Pair:
    a: Hub
    b: Hub
    url_a: str
    url_b: str
    people: object

    def caller(self, token: str):  # noqa: ANN201
        return self.a.tokens.authenticate(token)

    def info(self, url: str, repo: str, rev: str = "main") -> httpx.Response:
        path = f"/api/models/{repo}" if rev == "main" else f"/api/models/{repo}/revision/{rev}"
        return httpx.get(url + path, headers=auth(self.people.admin))

    def head(self, url: str, token: str, repo: str, path: str = "weights.bin") -> int:
        return httpx.head(f"{url}/{repo}/resolve/main/{path}", headers=auth(token)).status_code

    def both(self) -> tuple[str, str]:
        return self.url_a, self.url_b


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def pair(pg_url: str, tmp_path) -> Iterator[Pair]:
    from hubtools import make_people

    a = Hub(Settings(data_dir=tmp_path / "data", database_url=pg_url))
    b = Hub(Settings(data_dir=tmp_path / "data", database_url=pg_url))  # blobs shared, as on S3
    people = make_people(a)
    try:
        with serve_url(create_app(a.settings, a)) as url_a, serve_url(create_app(b.settings, b)) as url_b:
            yield Pair(a, b, url_a, url_b, people)
    finally:
        a.close()
        b.close()


def publish(p: Pair, repo: str, files: dict[str, bytes], gating: str | None = None) -> str:
    from hubtools import publish as put

    return put(p.a, p.people.alice, repo, files, gating=gating)["commit"]


def test_a_new_commit_is_seen_on_both_replicas(pair: Pair) -> None:
    first = publish(pair, "alice/m", APACHE)
    for url in pair.both():
        assert pair.info(url, "alice/m").json()["sha"] == first
        assert httpx.get(f"{url}/api/models/alice/m/tree/main", headers=auth(pair.people.bob)).status_code == 200
        assert pair.head(url, pair.people.bob, "alice/m") == 200
    assert len(pair.b.core.metadata) >= 3  # b answers from its cache now
    second = publish(pair, "alice/m", {"extra.txt": b"new"})
    assert second != first
    assert pair.info(pair.url_a, "alice/m").json()["sha"] == second  # at once on the writer
    until(lambda: pair.info(pair.url_b, "alice/m").json()["sha"] == second, "b sees the new commit")
    tree = httpx.get(f"{pair.url_b}/api/models/alice/m/tree/main", headers=auth(pair.people.bob)).json()
    assert "extra.txt" in [e["path"] for e in tree]
    commit = httpx.head(f"{pair.url_b}/alice/m/resolve/main/weights.bin", headers=auth(pair.people.bob))
    assert commit.headers["x-repo-commit"] == second


def test_a_deleted_branch_is_gone_on_both_replicas(pair: Pair) -> None:
    first = publish(pair, "alice/m", APACHE)
    pair.a.publish.create_ref(pair.caller(pair.people.alice), "alice/m", "branch", "dev", first)
    for url in pair.both():
        assert pair.info(url, "alice/m", "dev").json()["sha"] == first
    pair.a.publish.delete_ref(pair.caller(pair.people.alice), "alice/m", "branch", "dev")
    assert pair.info(pair.url_a, "alice/m", "dev").status_code == 404
    until(lambda: pair.info(pair.url_b, "alice/m", "dev").status_code == 404, "b forgets the branch")


def test_a_takedown_is_honoured_on_both_replicas(pair: Pair) -> None:
    publish(pair, "alice/m", APACHE)
    for url in pair.both():
        assert pair.head(url, pair.people.bob, "alice/m") == 200
        assert pair.info(url, "alice/m").json()["disabled"] is False
    pair.a.repos.withdraw(pair.caller(pair.people.admin), "alice/m", "DMCA")
    assert pair.head(pair.url_a, pair.people.bob, "alice/m") == 403
    assert pair.info(pair.url_a, "alice/m").json()["disabled"] is True
    until(lambda: pair.head(pair.url_b, pair.people.bob, "alice/m") == 403, "b refuses the download")
    assert pair.info(pair.url_b, "alice/m").json()["disabled"] is True


def test_a_gating_change_is_honoured_on_both_replicas(pair: Pair) -> None:
    publish(pair, "alice/m", APACHE)
    for url in pair.both():
        assert pair.head(url, pair.people.bob, "alice/m") == 200
        assert pair.info(url, "alice/m").json()["gated"] is False
    pair.a.repos.set_gating(pair.caller(pair.people.alice), "alice/m", "manual")
    assert pair.head(pair.url_a, pair.people.bob, "alice/m") == 403
    until(lambda: pair.head(pair.url_b, pair.people.bob, "alice/m") == 403, "b gates the download")
    assert pair.info(pair.url_b, "alice/m").json()["gated"] == "manual"


def test_grant_and_revoke_are_honoured_on_both_replicas(pair: Pair) -> None:
    publish(pair, "alice/g", GATED, gating="manual")
    alice = pair.caller(pair.people.alice)
    for url in pair.both():
        assert pair.head(url, pair.people.bob, "alice/g") == 403
    pair.a.access.grant_access(alice, "alice/g", "bob")
    assert pair.head(pair.url_a, pair.people.bob, "alice/g") == 200
    until(lambda: pair.head(pair.url_b, pair.people.bob, "alice/g") == 200, "b lets the grantee in")
    pair.a.access.revoke_access(alice, "alice/g", "bob", "terms broken")
    assert pair.head(pair.url_a, pair.people.bob, "alice/g") == 403
    until(lambda: pair.head(pair.url_b, pair.people.bob, "alice/g") == 403, "b refuses the revoked grantee")


def test_a_revoked_token_is_refused_on_both_replicas(pair: Pair) -> None:
    publish(pair, "alice/m", APACHE)
    for url in pair.both():
        assert pair.head(url, pair.people.bob, "alice/m") == 200
        assert httpx.get(f"{url}/api/models/alice/m", headers=auth(pair.people.bob)).status_code == 200
    pair.a.tokens.revoke_token(pair.caller(pair.people.admin), pair.people.bob)
    assert pair.head(pair.url_a, pair.people.bob, "alice/m") == 401
    until(lambda: pair.head(pair.url_b, pair.people.bob, "alice/m") == 401, "b refuses the revoked token")
    assert httpx.get(f"{pair.url_b}/api/models/alice/m", headers=auth(pair.people.bob)).status_code == 401


def test_bad_input_is_refused_not_cached(pair: Pair) -> None:
    for url in pair.both():
        assert httpx.get(f"{url}/api/models/alice/nope").status_code == 404
        assert httpx.head(f"{url}/alice/nope/resolve/main/x").status_code == 404
        assert httpx.head(f"{url}/alice/m/resolve/main/..%2Fx").status_code in (400, 404)
    publish(pair, "alice/nope", APACHE)  # created after a miss: found at once on both
    for url in pair.both():
        assert pair.info(url, "alice/nope").status_code == 200


def test_the_cached_path_answers_as_the_full_stack(pair: Pair) -> None:
    publish(pair, "alice/m", APACHE)
    url = f"{pair.url_b}/api/models/alice/m"
    full = httpx.get(url, headers=auth(pair.people.bob))  # a miss: the full stack fills the cache
    fast = httpx.get(url, headers=auth(pair.people.bob))  # a hit: answered before the stack
    cookie = httpx.get(url, headers=auth(pair.people.bob), cookies={"other": "1"})  # never the cached path
    assert full.content == fast.content == cookie.content
    keep = ("content-type", "content-security-policy", "x-content-type-options")
    assert [full.headers.get(k) for k in keep] == [fast.headers.get(k) for k in keep] == \
        [cookie.headers.get(k) for k in keep]
    assert httpx.get(url, headers=auth("aperto_" + "x" * 43)).status_code == 401  # unknown token: full stack
    metrics = httpx.get(f"{pair.url_b}/metrics").text
    assert 'aperto_hub_http_requests_total{method="GET",route="/api/models/{org}/{name}",status="200"} 3.0' in metrics


def test_the_cached_download_head_answers_as_the_full_stack(pair: Pair, monkeypatch) -> None:
    publish(pair, "alice/m", APACHE)
    url = f"{pair.url_b}/alice/m/resolve/main/weights.bin"
    full = httpx.head(url, headers=auth(pair.people.bob))  # a miss: the full stack fills the cache
    monkeypatch.setattr(pair.b.repos, "_file", lambda *a: pytest.fail("the store was asked again"))
    fast = httpx.head(url, headers=auth(pair.people.bob))  # a hit: answered before the stack
    drop = (b"date", b"x-request-id")
    assert full.status_code == fast.status_code == 200
    assert [h for h in full.headers.raw if h[0] not in drop] == [h for h in fast.headers.raw if h[0] not in drop]
    metrics = httpx.get(f"{pair.url_b}/metrics").text
    assert ('aperto_hub_http_requests_total{method="HEAD",route="/{org}/{name}/resolve/{rev}/{path:path}",'
            'status="200"} 2.0') in metrics
    pair.b.blobs.path(full.headers["etag"].strip('"')).unlink()  # gone from the disk: the stack says so
    gone = httpx.head(url, headers=auth(pair.people.bob))
    assert gone.status_code >= 500 and gone.status_code != 200


def change_through_a(pair: Pair, kind: str) -> tuple[str, int]:
    """Make one change through replica a; the event type it emits and the status bob's download gets after."""
    admin, alice = pair.caller(pair.people.admin), pair.caller(pair.people.alice)
    if kind == "takedown":
        pair.a.repos.withdraw(admin, "alice/m", "DMCA")
        return "takedown", 403
    if kind == "gating":
        pair.a.repos.set_gating(alice, "alice/m", "manual")
        return "gating", 403
    if kind == "revoke":
        pair.a.access.revoke_access(alice, "alice/m", "bob", "terms broken")
        return "revoke", 403
    pair.a.tokens.revoke_token(admin, pair.people.bob)
    return "token-revoked", 401


@pytest.mark.parametrize("kind", ["takedown", "gating", "revoke", "token"])
def test_b_holds_to_a_change_on_its_next_request_once_applied(pair: Pair, kind: str) -> None:
    """No waiting for b to come round: once b's own feed has answered with the event (it answers after
    b's caches heard it), the very next request to b is refused."""
    if kind == "revoke":
        publish(pair, "alice/m", GATED, gating="manual")
        pair.a.access.grant_access(pair.caller(pair.people.alice), "alice/m", "bob")
    else:
        publish(pair, "alice/m", APACHE)
    until(lambda: pair.head(pair.url_b, pair.people.bob, "alice/m") == 200, "b serves bob (its caches warm)")
    feed = {"Authorization": f"Bearer {pair.people.gw}"}
    after = httpx.get(f"{pair.url_b}/api/events", headers=feed).json()["last_seq"]
    event, refused = change_through_a(pair, kind)
    seen: list[str] = []
    while event not in seen:  # b's feed, long-polled: it may first answer with other events of the change
        answer = httpx.get(f"{pair.url_b}/api/events", params={"after": after, "wait": 10}, headers=feed,
                           timeout=30).json()
        assert answer["events"], f"b's feed heard nothing of the {kind} within 10 s"
        seen += [e["type"] for e in answer["events"]]
        after = answer["last_seq"]
    assert pair.head(pair.url_b, pair.people.bob, "alice/m") == refused
