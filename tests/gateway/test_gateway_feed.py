"""The gateway as a consumer of the hub's feed (docs/contracts.md), against a stand-in hub:
two replicas, kills and revocations reaching both and cutting in-flight streams, fail-closed
staleness, a restart that learns a kill from the snapshot, and `aperto kill/resume`."""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from gwkit import ADMIN, ALICE, BOB, StreamReader, error_code, policy_doc, serve, settings_for, wait_until
from standin_hub import GATEWAY_TOKEN, create_standin

from aperto.cli.gateway import kill_cmd, resume_cmd
from aperto.gateway import create_app
from aperto.gateway.backends.fake import Fake

FAKE = "fake/model"


@pytest.fixture
def hub():
    with serve(create_standin(policy_doc(), ADMIN)) as server:
        yield server


def replica(tmp_path: Path, hub_url: str, name: str, limit: float = 30.0, token: str = GATEWAY_TOKEN):
    settings = settings_for(tmp_path / name, hub_url=hub_url, token=token, staleness_limit_s=limit)
    return create_app(settings, backends={FAKE: Fake({"delay": 0.01}, settings)})


def chat(url: str, token: str = ALICE) -> httpx.Response:
    body = {"model": FAKE, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    return httpx.post(url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"})


def ready(url: str) -> bool:
    return httpx.get(url + "/readyz").status_code == 200


def emit(hub, **event) -> None:
    assert httpx.post(hub.url + "/test/emit", json=event).status_code == 200


def test_kill_from_the_hub_reaches_both_replicas_and_their_streams(tmp_path, hub):
    with contextlib.ExitStack() as stack:
        gws = [stack.enter_context(serve(replica(tmp_path, hub.url, f"r{i}"))) for i in range(2)]
        for gw in gws:
            wait_until(lambda gw=gw: ready(gw.url), what="replica to load the snapshot")
            assert chat(gw.url).status_code == 200
        readers = [StreamReader(gw.url, ALICE, FAKE, max_tokens=100_000) for gw in gws for _ in range(2)]
        for r in readers:
            r.start()
        for r in readers:
            r.wait_for_chunks(2)
        result = CliRunner().invoke(kill_cmd, ["--reason", "recall", "--hub-url", hub.url, "--token", ADMIN])
        assert result.exit_code == 0, result.output
        for r in readers:
            r.join(10)
            assert error_code(r.error) == "model_halted" and str(r.error) == "recall"
        for gw in gws:
            r = chat(gw.url)
            assert r.status_code == 503 and r.json()["error"]["message"] == "recall"
            assert not ready(gw.url)
        result = CliRunner().invoke(resume_cmd, ["--hub-url", hub.url, "--token", ADMIN])
        assert result.exit_code == 0, result.output
        for gw in gws:
            wait_until(lambda gw=gw: chat(gw.url).status_code == 200, what="resume to arrive")


def test_kill_needs_an_admin_token(hub):
    result = CliRunner().invoke(kill_cmd, ["--reason", "x", "--hub-url", hub.url, "--token", ALICE])
    assert result.exit_code != 0 and "403" in str(result.exception)


def test_revocation_ends_that_holders_stream_only(tmp_path, hub):
    emit(hub, type="token-created", user="carol",
         data={"sha256": __import__("hashlib").sha256(b"aperto_carol").hexdigest(), "user": "carol",
               "scopes": ["read"]})
    emit(hub, type="grant", user="carol", repo=FAKE)
    with serve(replica(tmp_path, hub.url, "r")) as gw:
        wait_until(lambda: ready(gw.url), what="snapshot")
        alice = StreamReader(gw.url, ALICE, FAKE, max_tokens=100_000)
        carol = StreamReader(gw.url, "aperto_carol", FAKE, max_tokens=100_000)
        alice.start()
        carol.start()
        alice.wait_for_chunks(2)
        carol.wait_for_chunks(2)
        emit(hub, type="revoke", user="alice", repo=FAKE)
        alice.join(10)
        assert error_code(alice.error) == "gated"
        assert carol.is_alive() and carol.error is None  # others keep going
        assert chat(gw.url).status_code == 403
        emit(hub, type="token-revoked", data={"sha256": __import__("hashlib").sha256(b"aperto_carol").hexdigest()})
        carol.join(10)
        assert error_code(carol.error) == "invalid_api_key"
        assert chat(gw.url, "aperto_carol").status_code == 401


def test_takedown_refuses_everyone(tmp_path, hub):
    with serve(replica(tmp_path, hub.url, "r")) as gw:
        wait_until(lambda: ready(gw.url), what="snapshot")
        emit(hub, type="takedown", repo=FAKE)
        wait_until(lambda: chat(gw.url).status_code == 403, what="takedown")
        assert chat(gw.url).json()["error"]["code"] == "taken_down"


def test_stale_feed_fails_closed_then_recovers(tmp_path, hub):
    with serve(replica(tmp_path, hub.url, "r", limit=1.5)) as gw:
        wait_until(lambda: ready(gw.url), what="snapshot")
        reader = StreamReader(gw.url, ALICE, FAKE, max_tokens=100_000)
        reader.start()
        reader.wait_for_chunks(2)
        httpx.post(hub.url + "/test/down")
        wait_until(lambda: chat(gw.url).status_code == 503, what="staleness")
        body = chat(gw.url).json()["error"]
        assert body["code"] == "policy_stale" and "no word from the hub" in body["message"]
        status = httpx.get(gw.url + "/readyz")
        assert status.status_code == 503 and "no word from the hub" in status.json()["stale"]
        assert status.json()["feed_error"]
        reader.join(10)
        assert error_code(reader.error) == "policy_stale"  # in-flight streams end too
        httpx.post(hub.url + "/test/up")
        wait_until(lambda: chat(gw.url).status_code == 200, what="recovery")


def test_no_word_yet_means_closed(tmp_path, hub):
    with serve(replica(tmp_path, hub.url, "r", token="aperto_wrong")) as gw:
        r = chat(gw.url)
        assert r.status_code == 503 and r.json()["error"]["code"] == "policy_stale"
        wait_until(lambda: "401" in (httpx.get(gw.url + "/readyz").json()["feed_error"] or ""), what="feed error")


def test_restart_learns_the_kill_from_the_snapshot(tmp_path, hub):
    httpx.post(hub.url + "/api/kill", json={"repo": FAKE, "reason": "while you were away"},
               headers={"Authorization": f"Bearer {ADMIN}"})
    with serve(replica(tmp_path, hub.url, "fresh")) as gw:  # never saw the kill event, no state file
        wait_until(lambda: httpx.get(gw.url + "/readyz").json()["seq"] >= 1, what="snapshot")
        r = chat(gw.url)
        assert r.status_code == 503 and r.json()["error"]["message"] == "while you were away"
    # and it wrote the kill down, so the next start is halted even before the hub answers
    httpx.post(hub.url + "/test/down")
    with serve(replica(tmp_path, hub.url, "fresh")) as gw:
        assert chat(gw.url).json()["error"]["code"] == "model_halted"


def test_gating_change_reaches_a_running_gateway(tmp_path, hub):
    with serve(replica(tmp_path, hub.url, "r")) as gw:
        wait_until(lambda: ready(gw.url), what="snapshot")
        assert chat(gw.url, BOB).status_code == 403
        emit(hub, type="gating", repo=FAKE, data={"gating": "open"})
        wait_until(lambda: chat(gw.url, BOB).status_code == 200, what="open gating to arrive")
        emit(hub, type="gating", repo=FAKE, data={"gating": "manual"})
        wait_until(lambda: chat(gw.url, BOB).status_code == 403, what="manual gating to arrive")
        assert chat(gw.url, ALICE).status_code == 200  # her grant still counts


@pytest.mark.parametrize("raw", [{"type": "licence-changed", "repo": FAKE, "data": {}},  # unknown type
                                 {"type": "kill", "repo": FAKE, "data": {}}])  # known, but no reason
def test_an_event_it_cannot_apply_makes_it_take_a_fresh_snapshot(tmp_path, hub, raw):
    with serve(replica(tmp_path, hub.url, "r")) as gw:
        wait_until(lambda: ready(gw.url), what="snapshot")
        before = httpx.get(hub.url + "/test/counts").json()["snapshots"]
        assert httpx.post(hub.url + "/test/emit-raw", json=raw).status_code == 200
        wait_until(lambda: httpx.get(hub.url + "/test/counts").json()["snapshots"] == before + 1,
                   what="a fresh snapshot")
        wait_until(lambda: httpx.get(gw.url + "/readyz").json()["seq"] == 1, what="the event's seq")
        # the snapshot is the truth again: the repo is served, and nothing is distrusted
        assert chat(gw.url).status_code == 200
        assert httpx.get(gw.url + "/readyz").json()["distrusted"] == {}
