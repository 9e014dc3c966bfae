"""Standalone mode (policy file, no hub): /admin/kill stops every in-flight stream with a
final model_halted error, refuses new work, persists across a restart, and resumes explicitly.
Fake backend here for speed; test_gateway_real_model.py repeats the kill on SmolLM2."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from gwkit import ADMIN, ALICE, StreamReader, error_code, serve, settings_for, wait_until

from aperto.cli.gateway import kill_cmd, resume_cmd
from aperto.gateway import create_app
from aperto.gateway.backends.fake import Fake

FAKE = "fake/model"


def make(tmp_path: Path, policy_file: Path):
    settings = settings_for(tmp_path, policy_file=policy_file)
    backend = Fake({"delay": 0.01}, settings)
    return create_app(settings, backends={FAKE: backend}), backend


def chat(url: str, token: str = ALICE, **kw) -> httpx.Response:
    body = {"model": FAKE, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, **kw}
    return httpx.post(url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"})


def admin(url: str, action: str, **body) -> httpx.Response:
    return httpx.post(f"{url}/admin/{action}", json=body, headers={"Authorization": f"Bearer {ADMIN}"})


def test_kill_stops_streams_refuses_new_work_and_survives_restart(tmp_path, policy_file):
    app, backend = make(tmp_path, policy_file)
    with serve(app) as server:
        readers = [StreamReader(server.url, ALICE, FAKE, max_tokens=100_000) for _ in range(4)]
        for r in readers:
            r.start()
        for r in readers:
            r.wait_for_chunks(3)
        # one more stream read raw, to check the bytes on the wire
        with httpx.stream("POST", server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {ALICE}"},
                          json={"model": FAKE, "messages": [{"role": "user", "content": "x"}],
                                "max_tokens": 100_000, "stream": True}) as raw:
            lines = raw.iter_lines()
            assert next(lines).startswith("data: {")
            assert admin(server.url, "kill", reason="incident 7: leaked weights").status_code == 200
            rest = [line for line in lines if line]
        assert rest[-1] == "data: [DONE]"
        final = json.loads(rest[-2].removeprefix("data: "))
        assert final["error"]["code"] == "model_halted"
        assert final["error"]["message"] == "incident 7: leaked weights"
        for r in readers:
            r.join(10)
            assert not r.is_alive() and not r.finished
            assert error_code(r.error) == "model_halted"
        produced = backend.callbacks
        wait_until(lambda: server.app.state.gateway.live == set(), what="streams to end")
        assert backend.callbacks == produced  # the backend stopped, it is not merely hidden

        for kw in ({}, {"stream": True}):
            r = chat(server.url, **kw)
            assert r.status_code == 503 and r.json()["error"]["code"] == "model_halted"
        ready = httpx.get(server.url + "/readyz")
        assert ready.status_code == 503 and ready.json()["halted"] == {FAKE: "incident 7: leaked weights"}
        assert httpx.get(server.url + "/healthz").status_code == 200

    state = json.loads((tmp_path / "data" / "gateway-state.json").read_text())
    assert state["kills"][0]["reason"] == "incident 7: leaked weights"

    app, _ = make(tmp_path, policy_file)  # a restart: comes up halted, before anyone tells it
    with serve(app) as server:
        assert httpx.get(server.url + "/readyz").status_code == 503
        assert chat(server.url).json()["error"]["code"] == "model_halted"
        assert admin(server.url, "resume").status_code == 200
        r = chat(server.url)
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"].startswith("tok0")
        assert httpx.get(server.url + "/readyz").status_code == 200


def test_kill_of_one_model_spares_the_others(tmp_path, policy_file):
    settings = settings_for(tmp_path, policy_file=policy_file)
    doc = json.loads(policy_file.read_text())
    doc["open_repos"] = ["fake/other"]
    policy_file.write_text(json.dumps(doc))
    app = create_app(settings, backends={FAKE: Fake({}, settings), "fake/other": Fake({}, settings)})
    with serve(app) as server:
        cli = ["--model", FAKE, "--gateway", server.url + "/v1", "--token", ADMIN]
        result = CliRunner().invoke(kill_cmd, [*cli, "--reason", "this one only"])
        assert result.exit_code == 0 and "halted fake/model: this one only" in result.output
        assert chat(server.url).status_code == 503
        assert chat(server.url, model="fake/other").status_code == 200
        assert httpx.get(server.url + "/readyz").status_code == 200  # still serves something
        assert CliRunner().invoke(resume_cmd, cli).exit_code == 0
        assert chat(server.url).status_code == 200


def test_non_streaming_call_gets_an_error_not_a_truncated_answer(tmp_path, policy_file):
    app, backend = make(tmp_path, policy_file)
    with serve(app) as server:
        import threading

        result: dict = {}
        t = threading.Thread(target=lambda: result.setdefault("r", chat(server.url, max_tokens=100_000)))
        t.start()
        wait_until(lambda: backend.callbacks > 5, what="generation to start")
        admin(server.url, "kill", reason="stop now")
        t.join(10)
        r = result["r"]
        assert r.status_code == 503
        assert r.json()["error"] == {"message": "stop now", "type": "service_unavailable",
                                     "code": "model_halted", "param": None}


@pytest.mark.parametrize("body", [{}, {"reason": "  "}])
def test_kill_needs_a_reason(tmp_path, policy_file, body):
    app, _ = make(tmp_path, policy_file)
    with serve(app) as server:
        r = admin(server.url, "kill", **body)
        assert r.status_code == 400 and r.json()["error"]["param"] == "reason"
