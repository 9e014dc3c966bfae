"""The upstream backend: an aperto gateway in front of any OpenAI-compatible server.
Here the upstream is a second gateway (fake model), so the test can see that a kill
on the front closes the upstream stream and the upstream stops generating."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import openai
from gwkit import ADMIN, ALICE, StreamReader, error_code, policy_doc, serve, settings_for, wait_until

from aperto.errors import Unavailable
from aperto.gateway import create_app
from aperto.gateway.backends.fake import Fake
from aperto.gateway.core import Gateway

FAKE = "fake/model"


def test_upstream_passthrough_and_abort(tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(policy_doc()))
    back_settings = settings_for(tmp_path / "back", policy_file=policy)
    fake = Fake({"delay": 0.01}, back_settings)
    with serve(create_app(back_settings, backends={FAKE: fake})) as back:
        front_settings = settings_for(tmp_path / "front", policy_file=policy, gateway_model="", gateway_models={
            "front/model": {"backend": "upstream", "url": back.url + "/v1", "model": FAKE, "api_key": ALICE}})
        front_app = create_app(front_settings)
        doc = policy_doc()
        doc["open_repos"] = ["front/model"]
        policy.write_text(json.dumps(doc))
        with serve(front_app) as front:
            client = openai.OpenAI(base_url=front.url + "/v1", api_key=ALICE, max_retries=0)
            r = client.chat.completions.create(model="front/model", messages=[{"role": "user", "content": "x"}],
                                               max_tokens=3)
            assert r.choices[0].message.content == "tok0 tok1 tok2 " and r.model == "front/model"
            assert r.usage.completion_tokens == 3
            chunks = list(client.completions.create(model="front/model", prompt="x", max_tokens=2, stream=True))
            assert "".join(c.choices[0].text for c in chunks if c.choices) == "tok0 tok1 "

            reader = StreamReader(front.url, ALICE, "front/model", max_tokens=100_000)
            reader.start()
            reader.wait_for_chunks(3)
            assert len(back.app.state.gateway.live) == 1
            kill = httpx.post(front.url + "/admin/kill", json={"reason": "front halted"},
                              headers={"Authorization": f"Bearer {ADMIN}"})
            assert kill.status_code == 200
            reader.join(10)
            assert error_code(reader.error) == "model_halted"
            # the front closed its upstream stream, so the upstream stopped working for it
            wait_until(lambda: not back.app.state.gateway.live, what="the upstream request to end")
            produced = fake.callbacks
            time.sleep(0.2)
            assert fake.callbacks == produced


def test_a_request_stopped_then_closed_still_closes_its_upstream(tmp_path):
    """A kill stops the request, then the client's side closes it. Whatever runs between the two,
    the upstream connection closes (a second cancel inside httpx's close once left it open)."""
    policy = tmp_path / "policy.json"
    doc = policy_doc()
    doc["open_repos"] = ["front/model"]
    policy.write_text(json.dumps(doc))
    back_settings = settings_for(tmp_path / "back", policy_file=policy)
    fake = Fake({"delay": 0.01}, back_settings)
    with serve(create_app(back_settings, backends={FAKE: fake})) as back:
        front = Gateway(settings_for(tmp_path / "front", policy_file=policy, gateway_model="", gateway_models={
            "front/model": {"backend": "upstream", "url": back.url + "/v1", "model": FAKE, "api_key": ALICE}}))
        upstream_live = back.app.state.gateway.live

        async def run() -> list[int]:
            await front.start()
            stuck = []
            try:
                for between in range(6):  # event-loop turns between the stop and the close
                    stream = front.open_stream("chat", {"model": "front/model", "max_tokens": 100_000,
                                                        "messages": [{"role": "user", "content": "x"}]}, ALICE)
                    await anext(stream)
                    stream.live.stop(Unavailable("stopped"))
                    for _ in range(between):
                        await asyncio.sleep(0)
                    await stream.aclose()
                    deadline = time.monotonic() + 5
                    while upstream_live and time.monotonic() < deadline:
                        await asyncio.sleep(0.01)  # the front's loop must run to close the socket
                    if upstream_live:
                        stuck.append(between)
                        return stuck
            finally:
                await front.close()
            return stuck

        assert asyncio.run(run()) == []


def test_upstream_errors_are_passed_on_clearly(tmp_path):
    settings = settings_for(tmp_path, policy_file=None, gateway_model="", gateway_models={
        "dead/model": {"backend": "upstream", "url": "http://127.0.0.1:9/v1"}})
    doc = policy_doc()
    doc["open_repos"] = ["dead/model"]
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps(doc))
    settings.policy_file = policy
    app = create_app(settings)
    with serve(app) as gw:
        r = httpx.post(gw.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {ALICE}"},
                       json={"model": "dead/model", "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
        assert "127.0.0.1:9" in r.json()["error"]["message"]


def scripted_upstream(status: int, body: bytes, headers: dict[str, str]) -> Any:
    """An OpenAI-compatible server that answers every request with the same bytes."""
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": body})
    return app


def front_for(tmp_path, url: str):
    doc = policy_doc()
    doc["open_repos"] = ["up/model"]
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps(doc))
    settings = settings_for(tmp_path, policy_file=policy, gateway_model="",
                            gateway_models={"up/model": {"backend": "upstream", "url": url}})
    return create_app(settings)


def test_an_upstream_429_is_passed_on_with_its_retry_after(tmp_path):
    limited = scripted_upstream(429, b'{"error": {"message": "slow down"}}',
                                {"content-type": "application/json", "retry-after": "7"})
    with serve(limited) as up, serve(front_for(tmp_path, up.url + "/v1")) as front:
        r = httpx.post(front.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {ALICE}"},
                       json={"model": "up/model", "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 429 and r.headers["retry-after"] == "7" and r.headers["x-should-retry"] == "true"
        assert r.json()["error"]["code"] == "rate_limit_exceeded" and "slow down" in r.json()["error"]["message"]


def test_multi_line_sse_data_is_joined(tmp_path):
    chunk = {"id": "u1", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "two\nlines"}, "finish_reason": None}]}
    pretty = json.dumps(chunk, indent=1)  # JSON over several lines: one data: field per line
    stream = ("".join(f"data: {line}\n" for line in pretty.split("\n")) + "\n: keep-alive\n\n"
              + "data:[DONE]\n\n").encode()
    upstream = scripted_upstream(200, stream, {"content-type": "text/event-stream"})
    with serve(upstream) as up, serve(front_for(tmp_path, up.url + "/v1")) as front:
        client = openai.OpenAI(base_url=front.url + "/v1", api_key=ALICE, max_retries=0)
        r = client.chat.completions.create(model="up/model", messages=[{"role": "user", "content": "x"}])
        assert r.choices[0].message.content == "two\nlines"
