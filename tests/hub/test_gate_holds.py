"""The gate holds against people who try to walk around it (issue "The gate holds"): the
licensor's queue cannot be bypassed by re-submitting, knowing a sha256 is not owning the
bytes, bad stored rows do not break pages, and bodies are limited before parsing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hubtools import LLAMA_CARD, People, auth, publish

from aperto import events
from aperto.hub.service import Hub
from aperto.store import evals as eval_rows
from aperto.store import events as event_rows
from aperto.store import repos as repo_rows

GATED = "alice/llama-tiny"
BIG = {"mau": 900_000_000, "use": "commercial", "country": "FR", "accepts_aup": True}
SMALL = {**BIG, "mau": 5}


@pytest.fixture
def licence_text(shared_dir: Path) -> bytes:
    """The real Llama 3.1 licence, read from the shared corpus (never copied into the project)."""
    return (shared_dir / "licenses" / "meta-llama" / "llama3_1_LICENSE.txt").read_bytes()


@pytest.fixture
def gated(hub: Hub, people: People, licence_text: bytes) -> str:
    out = publish(hub, people.alice, GATED, {"README.md": LLAMA_CARD.encode(), "LICENSE": licence_text,
                                             "model.bin": b"weights" * 100}, gating="auto")
    assert out["license"] == "llama3.1"
    return GATED


def ask(client: TestClient, token: str, body: dict) -> dict:
    r = client.post(f"/api/models/{GATED}/access-request", json=body, headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


def handle(client: TestClient, token: str, user: str, status: str) -> None:
    r = client.post(f"/api/models/{GATED}/user-access-request/handle", json={"user": user, "status": status},
                    headers=auth(token))
    assert r.status_code == 200, r.text


def can_download(client: TestClient, token: str) -> bool:
    return client.get(f"/{GATED}/resolve/main/model.bin", headers=auth(token)).status_code == 200


def pending(client: TestClient, token: str) -> list[str]:
    r = client.get(f"/api/models/{GATED}/user-access-request/pending", headers=auth(token))
    return [row["user"]["user"] for row in r.json()]


def test_a_pending_request_cannot_be_resubmitted_into_an_automatic_grant(client, people, gated) -> None:
    assert ask(client, people.bob, BIG)["status"] == "pending"
    again = ask(client, people.bob, SMALL)  # the same user now says 5 users
    assert again["status"] == "pending" and not again["access"]
    assert "only the licensor" in again["reason"]
    assert pending(client, people.alice) == ["bob"]
    assert not can_download(client, people.bob)
    # the licensor sees what changed between the two declarations
    row = client.get(f"/api/models/{GATED}/user-access-request/pending", headers=auth(people.alice)).json()[0]
    assert {"field": "mau", "before": 900_000_000, "after": 5} in row["changes"]


def test_a_revoked_grant_does_not_come_back_by_resubmitting(client, people, gated) -> None:
    assert ask(client, people.bob, SMALL)["status"] == "accepted"
    assert can_download(client, people.bob)
    r = client.post(f"/api/models/{GATED}/user-access-request/revoke", json={"user": "bob", "reason": "breach"},
                    headers=auth(people.alice))
    assert r.status_code == 200, r.text
    again = ask(client, people.bob, SMALL)
    assert again["status"] == "pending" and not again["access"]
    assert not can_download(client, people.bob)
    handle(client, people.alice, "bob", "accepted")  # only the licensor lifts it
    assert can_download(client, people.bob)


def test_a_licensor_rejection_sticks(client, people, gated) -> None:
    ask(client, people.bob, BIG)
    handle(client, people.alice, "bob", "rejected")
    for body in (SMALL, {**SMALL, "country": "DE"}):
        assert ask(client, people.bob, body)["status"] == "pending"
        assert not can_download(client, people.bob)


def test_a_grant_holder_who_resubmits_keeps_the_grant_until_the_licensor_decides(client, people, gated) -> None:
    assert ask(client, people.bob, SMALL)["status"] == "accepted"
    unchanged = ask(client, people.bob, SMALL)
    assert unchanged["status"] == "accepted" and unchanged["access"]
    changed = ask(client, people.bob, BIG)  # now above the threshold: the licensor decides again
    assert changed["status"] == "pending" and changed["access"] and "stays" in changed["reason"]
    assert can_download(client, people.bob) and pending(client, people.alice) == ["bob"]
    handle(client, people.alice, "bob", "rejected")
    assert not can_download(client, people.bob)


def test_a_bad_country_is_refused_up_front_and_changes_nothing(client, people, gated) -> None:
    assert ask(client, people.bob, SMALL)["status"] == "accepted"
    r = client.post(f"/api/models/{GATED}/access-request", json={**SMALL, "country": "ZZ"}, headers=auth(people.bob))
    assert r.status_code == 400 and "country" in r.json()["message"]
    assert can_download(client, people.bob) and pending(client, people.alice) == []
    mine = client.get(f"/api/models/{GATED}/access-request", headers=auth(people.bob)).json()
    assert [v["status"] for v in mine["history"]] == ["accepted"]


def test_both_sides_see_the_whole_history_with_the_licence_version(client, people, gated, licence_text) -> None:
    ask(client, people.bob, BIG)
    ask(client, people.bob, SMALL)
    handle(client, people.alice, "bob", "accepted")
    mine = client.get(f"/api/models/{GATED}/access-request/history", headers=auth(people.bob)).json()
    theirs = client.get(f"/api/models/{GATED}/access-request/history", params={"user": "bob"},
                        headers=auth(people.alice)).json()
    assert mine == theirs
    assert [(v["version"], v["kind"], v["status"]) for v in mine] == [
        (1, "submission", "pending"), (2, "submission", "pending"), (3, "decision", "accepted")]
    assert all(v["at"] for v in mine) and mine[2]["decided_by"] == "alice"
    submissions = [v for v in mine if v["kind"] == "submission"]
    assert {v["license_sha256"] for v in submissions} == {hashlib.sha256(licence_text).hexdigest()}
    # someone else's history stays private
    r = client.get(f"/api/models/{GATED}/access-request/history", params={"user": "alice"}, headers=auth(people.bob))
    assert r.status_code == 403


def test_knowing_a_sha256_is_not_owning_the_bytes(client, hub, people, gated) -> None:
    weights = b"weights" * 100
    sha = hashlib.sha256(weights).hexdigest()
    entry = [{"path": "copy.bin", "sha256": sha, "size": len(weights)}]
    root = people.caller(people.admin)
    hub.tokens.create_token(root, "bob", ["read", "publish"])
    bob_pub = people.caller(hub.tokens.create_token(root, "bob", ["read", "publish"]))
    from aperto.errors import Conflict, TakenDown

    with pytest.raises(Conflict):  # no grant, no upload: the sha256 alone gives nothing
        hub.repos.commit(bob_pub, "bob/copy", entry, "steal", gating="open")
    ask(client, people.bob, SMALL)  # now a grantee: referencing what he can read is allowed
    hub.repos.commit(bob_pub, "bob/copy", entry, "mirror", gating="open")
    assert client.get("/bob/copy/resolve/main/copy.bin").content == weights
    hub.repos.withdraw(people.caller(people.alice), GATED, "licence dispute")
    r = client.get("/bob/copy/resolve/main/copy.bin")
    assert r.status_code == 403 and weights not in r.content
    with pytest.raises(TakenDown):
        hub.repos.file(None, "bob/copy", "main", "copy.bin")


def test_hub_writes_only_events_of_the_contract(client, hub, people, gated) -> None:
    alice = people.caller(people.alice)
    ask(client, people.bob, SMALL)
    hub.access.revoke_access(alice, GATED, "bob")
    hub.repos.set_gating(alice, GATED, "manual")
    hub.repos.withdraw(alice, GATED, "x", revision="main")
    hub.repos.restore(alice, GATED, revision="main")
    hub.repos.withdraw(alice, GATED, "x")
    hub.repos.restore(alice, GATED)
    hub.control.kill(alice, GATED, "stop")
    hub.control.resume(alice, GATED)
    hub.tokens.revoke_token(people.caller(people.admin), people.gw)
    with hub.store.read() as s:
        stored = event_rows.after(s, seq=0, limit=10_000)
    parsed = [events.parse_event({**e.__dict__, "at": "2026-01-01T00:00:00Z"}) for e in stored]
    assert not [p for p in parsed if isinstance(p, events.UnknownEvent)]
    assert {p.type for p in parsed} == set(events.EVENT_TYPES)  # every type is produced somewhere
    events.parse_snapshot(client.get("/api/gateway/state", headers=auth(people.admin)).json())


def test_a_bad_eval_is_refused_and_an_old_bad_row_breaks_no_page(client, hub, people, gated) -> None:
    r = client.post(f"/api/models/{GATED}/evals", json={"benchmark": "humaneval", "metric": "pass@1",
                                                         "value": 0.1, "settings": "x"}, headers=auth(people.alice))
    assert r.status_code == 400 and "settings" in r.json()["message"]
    with hub.store.write() as s:  # a row stored before validation existed
        bad = eval_rows.add(s, repo_id=repo_rows.repo_by_name(s, name=GATED).id, data={"benchmark": "humaneval", "metric": "pass@1", "value": 0.1,
                                                      "settings": "x"}, by="alice")
        bad_id = bad.id
    for page in ("/leaderboard", f"/models/{GATED}"):
        assert client.get(page).status_code == 200
    assert client.get(f"/api/models/{GATED}/evals").json() == []
    assert client.delete(f"/api/models/{GATED}/evals/{bad_id}", headers=auth(people.bob)).status_code == 403
    r = client.delete(f"/api/models/{GATED}/evals/{bad_id}", headers=auth(people.alice))
    assert r.status_code == 200 and r.json()["deleted"] is True


def test_bodies_are_limited_before_parsing(client, people, gated) -> None:
    r = client.post("/api/kill", content=b"{" + b" " * (9 * 1024 * 1024) + b"}",
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and "APERTO_MAX_BODY_BYTES" in r.json()["message"]
    deep = "[" * 100_000 + "]" * 100_000
    r = client.post(f"/api/models/{GATED}/access-request", content=deep,
                    headers={**auth(people.bob), "content-type": "application/json"})
    assert r.status_code == 400 and "nests deeper" in r.json()["message"]
    # uploads still stream bodies larger than the limit
    blob = b"x" * (9 * 1024 * 1024)
    sha = hashlib.sha256(blob).hexdigest()
    r = client.post(f"/api/models/{GATED}/upload/{sha}", params={"size": len(blob)}, content=blob,
                    headers=auth(people.alice))
    assert r.status_code == 200 and r.json()["complete"] is True


def test_the_queue_holds_through_the_real_client(live, client, people, gated, tmp_path) -> None:
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import GatedRepoError

    ask(client, people.bob, BIG)
    ask(client, people.bob, SMALL)
    queue = HfApi(endpoint=live, token=people.alice).list_pending_access_requests(GATED)
    assert [r.username for r in queue] == ["bob"]
    with pytest.raises(GatedRepoError):
        hf_hub_download(GATED, "model.bin", endpoint=live, token=people.bob, cache_dir=tmp_path / "cache")


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_unauthenticated_bodies_are_cut_off_not_buffered(live) -> None:
    """Four concurrent 64 MiB bodies without a token, chunked (no Content-Length to refuse early):
    each is answered 413 once the limit is passed, and the hub (in this process) does not grow."""
    import socket
    from concurrent.futures import ThreadPoolExecutor

    host, port = live.removeprefix("http://").split(":")
    chunk = b"x" * (1 << 20)

    def send() -> bytes:
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            try:
                for _ in range(64):
                    sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except OSError:
                pass  # the server answered and closed: what we want
            sock.settimeout(10)
            return sock.recv(200)

    before = rss_mib()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: send(), range(4)))
    assert all(a.startswith(b"HTTP/1.1 413") for a in answers), answers
    assert rss_mib() - before < 100
