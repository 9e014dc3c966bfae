"""The chat page relays the gateway's stream as the signed-in user, shows the
kill switch's final ``model_halted`` event, and kill/resume need the right role
and the CSRF field. The gateway here is a small stand-in on a real loopback port
that streams OpenAI-style SSE chunks and, when told, ends with model_halted."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.testclient import TestClient
from hubtools import APACHE_CARD, People, publish
from livekit import free_port
from livekit import serve_url as serve
from test_web import sign_in

from aperto.config import Settings

REPO = "acme/tiny"
WORDS = ["Hello", " from", " the", " stand", "-in", " gateway", "."]


def fake_gateway_app(control: dict) -> FastAPI:
    """control: mode = "ok" | "halt-mid" | "refuse"; seen collects (authorization, body)."""
    app = FastAPI()

    def chunk(text: str) -> bytes:
        body = {"object": "chat.completion.chunk", "model": REPO,
                "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
        return b"data: " + json.dumps(body).encode() + b"\n\n"

    @app.post("/v1/chat/completions")
    async def chat(request: Request):  # noqa: ANN202
        control.setdefault("seen", []).append((request.headers.get("authorization"), await request.json()))
        halted = {"error": {"message": f"{REPO} is halted: {control.get('reason', 'maintenance')}",
                            "type": "service_unavailable", "code": "model_halted", "param": None}}
        if control["mode"] == "refuse":
            return JSONResponse(halted, status_code=503)

        async def stream():  # noqa: ANN202
            for i, word in enumerate(WORDS):
                if control["mode"] == "halt-mid" and i == 3:
                    yield b"data: " + json.dumps(halted).encode() + b"\n\n"
                    break
                yield chunk(word)
                await asyncio.sleep(0.05)  # slow, like a model
            yield b"data: [DONE]\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


@pytest.fixture
def gateway(settings: Settings) -> Iterator[dict]:
    control: dict = {"mode": "ok"}
    with serve(fake_gateway_app(control)) as url:
        settings.gateway_url = f"{url}/v1"
        yield control


def events(text: str) -> list:
    out = []
    for block in text.split("\n\n"):
        if block.startswith("data: "):
            data = block[6:]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def chat(client: TestClient, csrf: str | None, prompt: str = "hi") -> tuple[int, list]:
    headers = {"X-CSRF-Token": csrf} if csrf is not None else {}
    with client.stream("POST", f"/models/{REPO}/chat/stream", headers=headers,
                       json={"messages": [{"role": "user", "content": prompt}]}) as r:
        text = "".join(r.iter_text())
    return r.status_code, events(text) if r.status_code == 200 else [text]


def test_chat_relays_chunks_as_the_signed_in_user(client: TestClient, people: People, gateway: dict) -> None:
    publish(people.hub, people.alice, REPO, {"README.md": APACHE_CARD.encode(), "model.gguf": b"GGUF"})
    csrf = sign_in(client, people.bob)
    page = client.get(f"/models/{REPO}/chat").text
    assert 'id="chat-form"' in page and f'data-csrf="{csrf}"' in page and "/static/hub.js" in page
    assert "Kill switch" not in page  # bob is neither admin nor licensor
    status, evs = chat(client, csrf, "say hello")
    assert status == 200
    assert "".join(e["choices"][0]["delta"]["content"] for e in evs[:-1]) == "".join(WORDS)
    assert evs[-1] == "[DONE]"
    auth, body = gateway["seen"][-1]
    assert auth == f"Bearer {people.bob}"  # the user's own token, so the gateway applies bob's grants
    assert body["model"] == REPO and body["stream"] is True
    assert body["messages"] == [{"role": "user", "content": "say hello"}]


def test_chat_ends_with_model_halted(client: TestClient, people: People, gateway: dict) -> None:
    publish(people.hub, people.alice, REPO, {"README.md": APACHE_CARD.encode(), "model.gguf": b"GGUF"})
    csrf = sign_in(client, people.bob)
    gateway.update(mode="halt-mid", reason="licensor pulled it")
    status, evs = chat(client, csrf)
    assert status == 200
    words = [e["choices"][0]["delta"]["content"] for e in evs if isinstance(e, dict) and "choices" in e]
    assert words == WORDS[:3]
    assert evs[-2]["error"]["code"] == "model_halted" and "licensor pulled it" in evs[-2]["error"]["message"]
    assert evs[-1] == "[DONE]"
    gateway["mode"] = "refuse"  # refused before the first token: still one error event for the page
    status, evs = chat(client, csrf)
    assert status == 200 and evs[0]["error"]["code"] == "model_halted" and evs[-1] == "[DONE]"


def test_chat_needs_sign_in_and_csrf(client: TestClient, people: People, gateway: dict) -> None:
    publish(people.hub, people.alice, REPO, {"README.md": APACHE_CARD.encode(), "model.gguf": b"GGUF"})
    assert client.get(f"/models/{REPO}/chat", follow_redirects=False).status_code == 303  # to the login page
    assert chat(client, None)[0] == 401
    csrf = sign_in(client, people.bob)
    assert chat(client, None)[0] == 403
    assert chat(client, "0" * 32)[0] == 403
    assert "seen" not in gateway  # nothing reached the gateway
    r = client.post(f"/models/{REPO}/chat/stream", headers={"X-CSRF-Token": csrf}, json={"messages": []})
    assert r.status_code == 400


def test_gateway_down_is_reported(client: TestClient, people: People, settings: Settings) -> None:
    publish(people.hub, people.alice, REPO, {"README.md": APACHE_CARD.encode(), "model.gguf": b"GGUF"})
    settings.gateway_url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    csrf = sign_in(client, people.bob)
    status, evs = chat(client, csrf)
    assert status == 200 and evs[0]["error"]["code"] == "gateway_unreachable"


def test_kill_and_resume_need_role_csrf_and_reason(client: TestClient, people: People) -> None:
    publish(people.hub, people.alice, REPO, {"README.md": APACHE_CARD.encode(), "model.gguf": b"GGUF"})
    csrf = sign_in(client, people.bob)
    r = client.post(f"/models/{REPO}/kill", data={"csrf": csrf, "reason": "x"}, follow_redirects=False)
    assert r.status_code == 403 and people.hub.control.kills() == []  # not the licensor
    client.cookies.clear()
    csrf = sign_in(client, people.alice)
    page = client.get(f"/models/{REPO}").text
    assert "Kill switch" in page and "Served by the gateway" in page
    r = client.post(f"/models/{REPO}/kill", data={"csrf": "forged", "reason": "x"}, follow_redirects=False)
    assert r.status_code == 403 and people.hub.control.kills() == []
    r = client.post(f"/models/{REPO}/kill", data={"csrf": csrf, "reason": "  "}, follow_redirects=False)
    assert r.status_code == 400 and people.hub.control.kills() == []
    r = client.post(f"/models/{REPO}/kill", data={"csrf": csrf, "reason": "unsafe outputs", "next": "chat"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/models/{REPO}/chat?")
    assert people.hub.control.kills()[0]["reason"] == "unsafe outputs"
    page = client.get(f"/models/{REPO}").text
    assert re.search(r'id="halted"[^>]*>Kill switch engaged: unsafe outputs', page)
    assert ">Resume</button>" in page
    assert "Kill switch engaged: unsafe outputs" in client.get(f"/models/{REPO}/chat").text
    # the fetch form on the chat page gets JSON back
    r = client.post(f"/models/{REPO}/resume", data={"csrf": csrf, "next": "chat"},
                    headers={"Accept": "application/json"})
    assert r.json()["killed"] is False and people.hub.control.kills() == []
    actions = [a["action"] for a in people.hub.audit.iter_audit()]
    assert actions[-2:] == ["kill", "resume"]
    client.cookies.clear()
    csrf = sign_in(client, people.admin)  # administrators too
    r = client.post(f"/models/{REPO}/kill", data={"csrf": csrf, "reason": "admin stop"})
    assert r.status_code == 200 and people.hub.control.kills()[0]["reason"] == "admin stop"
