"""What reaches a backend, and what every answer carries: body limits before parsing, the
allowlist of OpenAI fields with OpenAI's ranges, request ids, retry advice, per-caller model lists,
and the fallback when uvicorn's internals are not what the fast path expects."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from fastapi.testclient import TestClient
from gwkit import ADMIN, ALICE, BOB, policy_doc, serve, settings_for

from aperto.gateway import create_app, wire
from aperto.gateway.backends import Backend, Channel
from aperto.gateway.backends.fake import Fake

FAKE = "fake/model"
OPEN = "open/model"
AUTH = {"Authorization": f"Bearer {ALICE}"}


class Recorder(Fake):
    """The fake model, keeping each request exactly as the backend got it."""

    def __init__(self, spec: dict[str, Any], settings: Any) -> None:
        super().__init__({"delay": 0}, settings)
        self.seen: list[dict[str, Any]] = []

    async def generate(self, route: str, body: dict[str, Any], out: Channel) -> None:
        self.seen.append(body)
        await super().generate(route, body, out)


def make(tmp_path: Path, policy_file: Path, **kw: Any) -> tuple[Any, dict[str, Backend]]:
    doc = policy_doc()
    doc["open_repos"] = [OPEN]
    policy_file.write_text(json.dumps(doc))
    settings = settings_for(tmp_path, policy_file=policy_file, max_prompt_chars=1000, **kw)
    backends: dict[str, Backend] = {FAKE: Recorder({}, settings), OPEN: Fake({"delay": 0}, settings),
                                    "private/model": Fake({}, settings)}
    return create_app(settings, backends=backends), backends


@pytest.fixture
def client(tmp_path: Path, policy_file: Path):
    app, backends = make(tmp_path, policy_file)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.recorder = backends[FAKE]
        yield c


def chat(**extra: Any) -> dict[str, Any]:
    return {"model": FAKE, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, **extra}


def refused(response, param: str) -> str:
    assert response.status_code == 400, response.text
    err = response.json()["error"]
    assert err["code"] == "bad_input" and err["param"] == param and err["type"] == "invalid_request_error"
    return err["message"]


def test_only_allowlisted_fields_reach_the_backend(client):
    r = client.post("/v1/chat/completions", headers=AUTH, json=chat(
        temperature=0.5, top_p=0.9, seed=7, stop="x", user="someone", max_tokens=None, max_completion_tokens=2,
        messages=[{"role": "developer", "content": [{"type": "text", "text": "be brief"}], "name": "n"},
                  {"role": "user", "content": "hi"}]))
    assert r.status_code == 200, r.text
    seen = client.recorder.seen[-1]
    assert seen == {"model": FAKE, "max_tokens": 2, "temperature": 0.5, "top_p": 0.9, "seed": 7, "stop": ["x"],
                    "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
                    "stream": True, "stream_options": {"include_usage": True}}


@pytest.mark.parametrize("field", ["n_predict", "n_probs", "grammar", "json_schema", "tools", "cache_prompt"])
def test_engine_knobs_are_refused_by_name(client, field):
    message = refused(client.post("/v1/chat/completions", headers=AUTH, json=chat(**{field: 40})), field)
    assert f"unsupported parameter '{field}'" in message and "max_tokens" in message  # and what is accepted
    assert client.recorder.seen == []


@pytest.mark.parametrize(("field", "value"), [
    ("temperature", 2.5), ("temperature", -0.1), ("temperature", "hot"), ("top_p", 1.5), ("top_p", True),
    ("max_tokens", 0), ("max_completion_tokens", -1), ("presence_penalty", 3), ("frequency_penalty", -2.5),
    ("n", 2), ("stop", ["a", "b", "c", "d", "e"]), ("stop", 5), ("seed", 1.5), ("stream", "yes"),
    ("stream_options", []), ("logit_bias", {"abc": 1}), ("logit_bias", {"12": 101})])
def test_ranges_as_openai_checks_them(client, field, value):
    refused(client.post("/v1/chat/completions", headers=AUTH, json=chat(**{field: value})), field)


@pytest.mark.parametrize(("messages", "param"), [
    ([{"role": "wizard", "content": "x"}], "messages[0].role"), ([{"role": ["user"], "content": "x"}], "messages[0].role"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}], "messages[0].content"),
    ([{"role": "user", "content": 5}], "messages[0].content"), ([], "messages"), ("hi", "messages")])
def test_bad_messages_name_the_message(client, messages, param):
    refused(client.post("/v1/chat/completions", headers=AUTH, json=chat(messages=messages)), param)


def test_completions_prompt_forms(client):
    one = client.post("/v1/completions", headers=AUTH, json={"model": FAKE, "prompt": ["once"], "max_tokens": 2})
    assert one.status_code == 200 and client.recorder.seen[-1]["prompt"] == "once"
    many = client.post("/v1/completions", headers=AUTH, json={"model": FAKE, "prompt": ["a", "b"]})
    assert "one prompt per request" in refused(many, "prompt")
    refused(client.post("/v1/completions", headers=AUTH, json={"model": FAKE, "prompt": [1, 2, 3]}), "prompt")
    refused(client.post("/v1/completions", headers=AUTH, json={"model": FAKE, "prompt": [[1, 2]]}), "prompt")


def test_a_very_deep_body_is_a_400(client):
    deep = "[" * 100_000 + "]" * 100_000
    r = client.post("/v1/chat/completions", headers={**AUTH, "Content-Type": "application/json"}, content=deep)
    assert r.status_code == 400 and "deeper than 64" in r.json()["error"]["message"]


def test_request_ids(client, caplog):
    caplog.set_level("INFO", logger="aperto.gateway")
    r = client.get("/healthz")
    assert r.headers["x-request-id"].startswith("req_")
    assert f"{r.headers['x-request-id']} GET /healthz -> 200" in caplog.text
    assert client.get("/healthz", headers={"x-request-id": "trace-42"}).headers["x-request-id"] == "trace-42"
    odd = client.get("/healthz", headers={"x-request-id": "bad id\x7f" + "x" * 300}).headers["x-request-id"]
    assert odd.startswith("req_")
    err = client.post("/v1/chat/completions", json=chat(), headers={"Authorization": "Bearer nope"})
    assert err.status_code == 401 and err.headers["x-request-id"].startswith("req_")


def test_retry_advice(client):
    for token, status in (("aperto_nope", 401), (BOB, 403)):
        r = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {token}"}, json=chat())
        assert r.status_code == status and r.headers["x-should-retry"] == "false" and "retry-after" not in r.headers
    assert refused(client.post("/v1/chat/completions", headers=AUTH, json=chat(n=3)), "n")
    r = client.post("/v1/chat/completions", headers=AUTH, json=chat(model="no/such"))
    assert r.json()["error"]["code"] == "model_not_found" and r.headers["x-should-retry"] == "false"


def test_stale_policy_says_when_to_retry(tmp_path):
    settings = settings_for(tmp_path, hub_url="http://127.0.0.1:9", token="x")
    app = create_app(settings, backends={FAKE: Fake({}, settings)})
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/v1/chat/completions", headers=AUTH, json=chat())
        assert r.status_code == 503 and r.json()["error"]["code"] == "policy_stale"
        assert r.headers["x-should-retry"] == "true" and int(r.headers["retry-after"]) > 0


def test_models_lists_only_what_the_caller_may_use(client):
    def ids(token: str) -> list[str]:
        r = client.get("/v1/models", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return sorted(m["id"] for m in r.json()["data"])

    assert ids(ALICE) == sorted([FAKE, OPEN])  # her grant and the open one, not private/model
    assert ids(BOB) == [OPEN]
    one = client.get(f"/v1/models/{FAKE}", headers=AUTH)
    assert one.status_code == 200 and one.json()["id"] == FAKE and one.json()["object"] == "model"
    for name in ("private/model", "no/such"):
        r = client.get(f"/v1/models/{name}", headers=AUTH)
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    assert client.get(f"/v1/models/{FAKE}").json()["error"]["code"] == "invalid_api_key"


def test_the_openai_client_does_not_retry_a_halted_model(tmp_path, policy_file):
    app, backends = make(tmp_path, policy_file)
    with serve(app) as live:
        assert httpx.post(live.url + "/admin/kill", json={"repo": FAKE, "reason": "recall"},
                          headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200
        client = openai.OpenAI(base_url=live.url + "/v1", api_key=ALICE, max_retries=2)
        attempts = []
        client._client.event_hooks["request"].append(attempts.append)
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model=FAKE, messages=[{"role": "user", "content": "x"}], max_tokens=2)
        assert caught.value.status_code == 503 and caught.value.body["code"] == "model_halted"
        assert len(attempts) == 1  # without x-should-retry: false it would have made 3


def test_a_huge_body_is_refused_in_openais_shape_before_it_is_sent(tmp_path, policy_file):
    app, backends = make(tmp_path, policy_file)
    with serve(app) as live:
        socks = [socket.create_connection(("127.0.0.1", live.port)) for _ in range(4)]
        for sock in socks:  # unauthenticated, 64 MB declared, one byte sent
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n{" % (64 << 20))
        for sock in socks:
            sock.settimeout(10)
            answer = b""
            while not answer.endswith(b"}"):
                answer += sock.recv(4096)
            sock.close()
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 413") and b"x-request-id" in head.lower()
            err = json.loads(body)["error"]
            assert err["code"] == "request_too_large" and "MiB" in err["message"]
        # a body without a length, streamed past the limit, is cut there too
        def endless():
            while True:
                yield b"[" + b"0," * 65536 + b"0]"

        r = httpx.post(live.url + "/v1/chat/completions", content=endless(), headers=AUTH, timeout=30)
        assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
        assert backends[FAKE].seen == []


def test_fast_path_falls_back_when_uvicorn_changed(tmp_path, policy_file, monkeypatch, caplog):
    monkeypatch.setattr(wire, "CYCLE_ATTRIBUTES", (*wire.CYCLE_ATTRIBUTES, "renamed_in_a_new_uvicorn"))
    app, backends = make(tmp_path, policy_file)
    with serve(app) as live:
        ready = httpx.get(live.url + "/readyz").json()
        assert ready["direct_write"] == "off: uvicorn's RequestResponseCycle no longer sets renamed_in_a_new_uvicorn"
        with httpx.stream("POST", live.url + "/v1/chat/completions", headers=AUTH,
                          json=chat(max_tokens=50, stream=True)) as r:
            lines = [line for line in r.iter_lines() if line.startswith("data: ")]
        assert len(lines) == 52 and lines[-1] == "data: [DONE]"
        assert live.app.state.gateway.direct_chunks == 0
    assert "streams go through the event loop" in caplog.text


def test_fast_path_is_detected_on_this_uvicorn(tmp_path, policy_file):
    assert wire.direct_write_problem() is None
    app, _ = make(tmp_path, policy_file)
    with serve(app) as live:
        assert httpx.get(live.url + "/readyz").json()["direct_write"] == "on"
