"""Webhooks with a real HTTP receiver: registered through HfApi, delivered with the secret,
retried with backoff, and logged."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from hubtools import LLAMA_CARD, People, auth, publish

hf = pytest.importorskip("huggingface_hub")
from huggingface_hub import HfApi  # noqa: E402
from huggingface_hub.errors import HfHubHTTPError  # noqa: E402


class Receiver:
    def __init__(self, fail_first: int) -> None:
        self.got: list[tuple[dict, dict]] = []
        self.fail_first = fail_first
        self.calls = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls += 1
                if receiver.calls <= receiver.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.got.append((dict(self.headers), json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[str]:
        return [p["aperto"]["event"] for _, p in self.got]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=1)
    yield r
    r.server.shutdown()


def drain(hub, rounds: int = 200) -> None:
    """Run delivery rounds until nothing is pending (bounded; nothing here is timed)."""
    from aperto.store import webhooks as rows

    for _ in range(rounds):
        hub.webhooks.pump()
        with hub.store.read() as s:
            hooks = rows.listed(s)
            if all(d.status != "pending" for h in hooks for d in rows.deliveries(s, webhook_id=h.id)):
                return
        time.sleep(0.02)
    raise AssertionError("deliveries still pending")


def test_licensor_webhook_sees_requests_decisions_takedown_kill_and_commits(people: People, live: str,
                                                                           receiver: Receiver) -> None:
    hub = people.hub
    hub.webhooks.allow_private, hub.webhooks.backoff = True, 0.01
    publish(hub, people.alice, "acme/gated", {"README.md": LLAMA_CARD.encode()}, gating="manual")
    api = HfApi(endpoint=live, token=people.alice)
    hook = api.create_webhook(url=receiver.url, watched=[{"type": "model", "name": "acme/gated"}],
                              domains=["repo"], secret="s3cret")
    assert [w.id for w in api.list_webhooks()] == [hook.id]
    with pytest.raises(HfHubHTTPError):  # bob is not the licensor
        HfApi(endpoint=live, token=people.bob).create_webhook(
            url=receiver.url, watched=[{"type": "model", "name": "acme/gated"}], domains=["repo"])
    bob = hub.tokens.authenticate(people.bob)
    hub.access.request_access(bob, "acme/gated", {"accepts_aup": True, "use": "research"})
    api.accept_access_request("acme/gated", "bob")
    hub.access.revoke_access(hub.tokens.authenticate(people.alice), "acme/gated", "bob", "breach")
    alice = hub.tokens.authenticate(people.alice)
    hub.repos.withdraw(alice, "acme/gated", "dispute")
    hub.repos.restore(alice, "acme/gated")
    hub.control.kill(alice, "acme/gated", "incident")
    hub.control.resume(alice, "acme/gated")
    publish(hub, people.alice, "acme/gated", {"extra.txt": b"x"}, message="more")
    publish(hub, people.alice, "acme/other", {"README.md": LLAMA_CARD.encode()})  # not watched
    drain(hub)
    events = receiver.events()
    for wanted in ("access.request.created", "access.request.accepted", "access.request.revoked",
                   "repo.takedown", "repo.restore", "kill", "resume", "repo.commit"):
        assert wanted in events, (wanted, events)
    assert all(p.get("repo", {}).get("name") == "acme/gated" for _, p in receiver.got)
    headers, commit = next((h, p) for h, p in receiver.got if p["aperto"]["event"] == "repo.commit")
    assert headers["X-Webhook-Secret"] == "s3cret"
    assert commit["event"] == {"action": "update", "scope": "repo.content"}
    assert commit["updatedRefs"][0]["newSha"] == commit["repo"]["headSha"] == hub.repos.repo("acme/gated")["sha"]
    log = httpx.get(f"{live}/api/settings/webhooks/{hook.id}/deliveries", headers=auth(people.alice)).json()
    assert all(d["status"] == "delivered" for d in log)
    assert max(d["attempts"] for d in log) == 2  # the receiver refused the first post; it was retried
    assert httpx.get(f"{live}/api/settings/webhooks/{hook.id}/deliveries", headers=auth(people.bob)).status_code == 404
    api.delete_webhook(hook.id)
    assert api.list_webhooks() == []


def test_org_webhook_kill_and_failure_log(people: People, live: str, receiver: Receiver) -> None:
    hub = people.hub
    hub.webhooks.allow_private, hub.webhooks.backoff, hub.webhooks.max_attempts = True, 0.01, 2
    receiver.fail_first = 10**6  # never accepts
    admin = HfApi(endpoint=live, token=people.admin)
    hook = admin.create_webhook(url=receiver.url, watched=[{"type": "org", "name": "acme"}], domains=["repo"])
    publish(hub, people.alice, "acme/m", {"README.md": LLAMA_CARD.encode()})
    drain(hub)
    [entry] = httpx.get(f"{live}/api/settings/webhooks/{hook.id}/deliveries", headers=auth(people.admin)).json()
    assert entry["event"] == "repo.commit" and entry["status"] == "failed"
    assert entry["attempts"] == 2 and entry["lastCode"] == 503


def test_private_targets_are_refused_by_default(people: People, live: str, receiver: Receiver) -> None:
    hub = people.hub
    hub.webhooks.backoff, hub.webhooks.max_attempts = 0.01, 1
    publish(hub, people.alice, "acme/p", {"README.md": LLAMA_CARD.encode()})
    hook = HfApi(endpoint=live, token=people.alice).create_webhook(
        url=receiver.url, watched=[{"type": "model", "name": "acme/p"}], domains=["repo"])
    publish(hub, people.alice, "acme/p", {"x.txt": b"x"})
    drain(hub)
    [entry] = hub.webhooks.deliveries(hub.tokens.authenticate(people.alice), hook.id)
    assert entry["status"] == "failed" and "private address" in entry["lastError"]
    assert receiver.calls == 0


def test_a_delivery_round_with_nothing_due_takes_no_write_lock(people: People, monkeypatch) -> None:
    """Every replica's sender asks each second whether anything is due; the asking must not take the
    lock that every takedown and revocation in the fleet waits for."""
    hub = people.hub

    def no_write() -> None:
        raise AssertionError("a delivery round with nothing due took the write lock")

    monkeypatch.setattr(hub.webhooks.core, "write", no_write)
    assert hub.webhooks.pump() == 0
