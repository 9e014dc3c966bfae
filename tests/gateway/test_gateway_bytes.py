"""Backends may hand over each chunk as the JSON bytes their server wrote (llama.cpp does): the
gateway sends them on as they are, with the served model's name, and drops the usage chunk
unless the client asked for it. A fast stand-in here; test_gateway_real_model covers llama.cpp."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from gwkit import ALICE, settings_for

from aperto.gateway import create_app
from aperto.gateway.backends import Backend, Channel
from aperto.gateway.stream import with_model

SERVED = "fake/model"  # the repo the policy grants; the backend itself calls it by a file path


class RawJson(Backend):
    """Says "hi there" as compact JSON bytes, naming the model as a local path, like llama.cpp."""

    name = "rawjson"

    async def generate(self, route: str, body: dict[str, Any], out: Channel) -> None:
        base = {"id": "raw-1", "created": 1, "model": "/models/x.gguf", "object": "chat.completion.chunk"}
        for piece in ("hi", " there"):
            chunk = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}], **base}
            out.put_here(json.dumps(chunk, separators=(",", ":")).encode())
        usage = {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
        out.put_here(json.dumps({"choices": [], **base, "usage": usage}, separators=(",", ":")).encode())


@pytest.fixture
def client(tmp_path: Path, policy_file: Path):
    settings = settings_for(tmp_path, policy_file=policy_file)
    with TestClient(create_app(settings, backends={SERVED: RawJson({}, settings)})) as c:
        yield c


def events(response) -> list[Any]:
    assert response.status_code == 200, response.text
    data = [line[6:] for line in response.text.split("\n") if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


def post(client: TestClient, **extra: Any):
    body = {"model": SERVED, "messages": [{"role": "user", "content": "hi"}], **extra}
    return client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {ALICE}"})


def test_bytes_chunks_stream_with_the_served_name_and_no_usage_unasked(client):
    chunks = events(post(client, stream=True))
    assert [c["choices"][0]["delta"]["content"] for c in chunks] == ["hi", " there"]
    assert all(c["model"] == SERVED for c in chunks)


def test_bytes_usage_chunk_when_asked(client):
    chunks = events(post(client, stream=True, stream_options={"include_usage": True}))
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 2
    assert chunks[-1]["model"] == SERVED


def test_bytes_assembled_for_non_streaming_calls(client):
    r = post(client)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["choices"][0]["message"]["content"] == "hi there"
    assert body["model"] == SERVED and body["usage"]["total_tokens"] == 6


def test_with_model_rewrites_only_the_model_field():
    raw = b'{"choices":[{"delta":{"content":"\\"model\\":\\"x\\""}}],"model":"/m.gguf"}'
    out = json.loads(with_model(raw, "org/name"))
    assert out["model"] == "org/name"
    assert out["choices"][0]["delta"]["content"] == '"model":"x"'
