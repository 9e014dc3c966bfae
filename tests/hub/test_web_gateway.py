"""The chat page against the real gateway (aperto.gateway, with its fake-model backend)
following this hub's event feed: bob's answer streams through the hub, the licensor
pulls the kill switch on the web page, and bob's stream ends with model_halted and
the licensor's reason. Only this test imports both services; the hub never does."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from hubtools import APACHE_CARD, People, publish
from test_web import sign_in
from test_web_chat import serve

from aperto.config import Settings

REPO = "acme/tiny"


def web_session(url: str, token: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
    csrf = sign_in(c, token)
    c.follow_redirects = True
    return c, csrf


@pytest.mark.parametrize("backend", ["fake", pytest.param("smollm2", marks=pytest.mark.slow)])
def test_kill_from_the_web_ends_a_real_gateway_stream(backend: str, people: People, live: str,
                                                      settings: Settings, tmp_path) -> None:  # noqa: ANN001
    from aperto import gateway as gateway_app
    gw_settings = Settings(data_dir=tmp_path / "gw", hub_url=live, token=people.gw, staleness_limit_s=30,
                           n_threads=1, n_ctx=1024)
    if backend == "fake":
        from aperto.gateway.backends import fake
        repo, licensor, backends = REPO, people.alice, {REPO: fake.Fake({"delay": 0.05}, gw_settings)}
    else:  # the bundled SmolLM2 in llama.cpp, served under its hub repo id
        repo, licensor, backends = gw_settings.gateway_model, people.admin, None
    publish(people.hub, licensor, repo, {"README.md": APACHE_CARD.encode(), "model.gguf": b"GGUF"}, gating="open")
    app = gateway_app.create_app(gw_settings, backends=backends)
    with serve(app, lifespan="on") as gw_url:  # the lifespan follows the hub's feed
        settings.gateway_url = f"{gw_url}/v1"
        bob, bob_csrf = web_session(live, people.bob)
        alice, alice_csrf = web_session(live, licensor)
        body = {"messages": [{"role": "user", "content": "Write a long story about a dragon and a knight."}]}
        # the gateway needs the hub's snapshot before it serves anyone
        deadline = time.monotonic() + 20
        while True:
            r = httpx.post(f"{gw_url}/v1/chat/completions", headers={"Authorization": f"Bearer {people.bob}"},
                           json={"model": repo, "messages": body["messages"], "max_tokens": 1})
            if r.status_code != 503 or time.monotonic() > deadline:  # 503: no snapshot yet
                break
            time.sleep(0.1)
        assert r.status_code == 200, r.text
        pieces, error = [], None
        with bob.stream("POST", f"/models/{repo}/chat/stream", json=body,
                        headers={"X-CSRF-Token": bob_csrf}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                event = json.loads(line[6:])
                if "error" in event:
                    error = event["error"]
                    continue
                pieces += [c["delta"].get("content") or "" for c in event["choices"]]
                if len(pieces) == 3:  # mid-answer, the licensor stops the model from the web page
                    r = alice.post(f"/models/{repo}/kill", data={"csrf": alice_csrf, "reason": "bad answers"})
                    assert r.status_code == 200
        if backend == "fake":
            assert pieces[:3] == ["tok0 ", "tok1 ", "tok2 "]
        else:  # real words from the model
            assert "".join(pieces).strip() and not "".join(pieces).startswith("tok0")
        assert len(pieces) < 100  # stopped well before the 512 tokens it was asked for
        assert error and error["code"] == "model_halted" and "bad answers" in error["message"]
        # resumed from the web, the model answers again
        assert alice.post(f"/models/{repo}/resume", data={"csrf": alice_csrf}).status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with bob.stream("POST", f"/models/{repo}/chat/stream", json=body,
                            headers={"X-CSRF-Token": bob_csrf}) as stream:
                first = next(line for line in stream.iter_lines() if line.startswith("data: "))
            if "error" not in first:
                break
            time.sleep(0.1)
        assert "error" not in first and '"delta"' in first
        bob.close()
        alice.close()
