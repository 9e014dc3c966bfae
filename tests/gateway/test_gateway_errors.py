"""Bad input gets an OpenAI-style error with a clear message and the right status, never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from gwkit import ALICE, BOB, settings_for

from aperto.gateway import create_app
from aperto.gateway.backends.fake import Fake

FAKE = "fake/model"


@pytest.fixture
def client(tmp_path: Path, policy_file: Path):
    settings = settings_for(tmp_path, policy_file=policy_file, max_prompt_chars=200)
    app = create_app(settings, backends={FAKE: Fake({}, settings)})
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def post(client: TestClient, body, token: str | None = ALICE, path: str = "/v1/chat/completions", **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if isinstance(body, str):
        return client.post(path, content=body, headers={**headers, "Content-Type": "application/json"})
    return client.post(path, json=body, headers=headers)


def chat(**extra):
    return {"model": FAKE, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, **extra}


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    err = response.json()["error"]
    assert set(err) == {"message", "type", "code", "param"}
    assert err["code"] == code
    assert err["message"]
    return err


def test_a_good_request_works(client):
    r = post(client, chat())
    assert r.status_code == 200
    body = r.json()
    assert body["choices"][0]["message"]["content"] == "tok0 tok1 tok2 "
    assert body["usage"]["completion_tokens"] == 3
    assert body["model"] == FAKE


def test_malformed_json(client):
    err = error_of(post(client, '{"model": "fake/model", "messages": ['), 400, "bad_input")
    assert "not valid JSON" in err["message"]
    assert err["type"] == "invalid_request_error"


def test_body_that_is_not_an_object(client):
    error_of(post(client, "[1, 2]"), 400, "bad_input")


def test_unknown_model(client):
    err = error_of(post(client, chat(model="nobody/nothing")), 404, "model_not_found")
    assert "nobody/nothing" in err["message"] and err["param"] == "model"


def test_missing_model(client):
    assert error_of(post(client, {"messages": []}), 400, "bad_input")["param"] == "model"


def test_oversize_prompt(client):
    err = error_of(post(client, chat(messages=[{"role": "user", "content": "x" * 201}])), 413, "too_large")
    assert "201" in err["message"] and "200" in err["message"]


def test_oversize_prompt_on_completions(client):
    error_of(post(client, {"model": FAKE, "prompt": "y" * 500}, path="/v1/completions"), 413, "too_large")


@pytest.mark.parametrize("value", [-5, 0, "ten", 2.5])
def test_bad_max_tokens(client, value):
    err = error_of(post(client, chat(max_tokens=value)), 400, "bad_input")
    assert err["param"] == "max_tokens" and "positive integer" in err["message"]


def test_messages_must_be_a_list(client):
    assert error_of(post(client, chat(messages="hello")), 400, "bad_input")["param"] == "messages"


def test_invalid_token(client):
    err = error_of(post(client, chat(), token="aperto_not-a-real-token"), 401, "invalid_api_key")
    assert err["type"] == "authentication_error"


def test_missing_token(client):
    error_of(post(client, chat(), token=None), 401, "invalid_api_key")


def test_valid_token_without_grant(client):
    err = error_of(post(client, chat(), token=BOB), 403, "gated")
    assert err["type"] == "permission_error" and FAKE in err["message"]


def test_invalid_token_streaming_is_a_plain_error_not_a_stream(client):
    error_of(post(client, chat(stream=True), token="aperto_nope"), 401, "invalid_api_key")


def test_unknown_route_is_openai_shaped(client):
    error_of(client.get("/v1/nothing"), 404, "not_found")


def test_models_needs_a_token(client):
    error_of(client.get("/v1/models"), 401, "invalid_api_key")
    r = client.get("/v1/models", headers={"Authorization": f"Bearer {ALICE}"})
    assert [m["id"] for m in r.json()["data"]] == [FAKE]


def test_admin_kill_needs_admin(client):
    r = client.post("/admin/kill", json={"reason": "x"}, headers={"Authorization": f"Bearer {ALICE}"})
    error_of(r, 403, "forbidden")
