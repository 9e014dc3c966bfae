"""Every command that talks to a server fails the same way: one line naming the URL and what
to do, and the exit code errors.py gives that failure; never a traceback. Against a closed
port, a stand-in server answering each error shape, and the real hub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from livekit import free_port, serve_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aperto.cli.main import main
from aperto.cli.remote import error_from
from aperto.errors import Conflict, Forbidden, Halted, InvalidToken, Stale, Unavailable
from aperto.evals.dataset import load_problems


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return int(exit_info.value.code or 0), err


@pytest.fixture
def samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APERTO_DATA_DIR", str(tmp_path / "data"))
    problem = load_problems()["HumanEval/0"]
    path = tmp_path / "samples.jsonl"
    path.write_text(json.dumps({"task_id": "HumanEval/0", "completion": problem.canonical_solution}) + "\n")
    return path


def commands(url: str, folder: Path, samples: Path) -> dict[str, list[str]]:
    """Each command that calls a server, pointed at ``url``."""
    return {
        "publish": ["publish", str(folder), "--repo", "acme/tiny", "--hub", url, "--token", "t"],
        "kill": ["kill", "--hub-url", url, "--token", "t", "--reason", "test"],
        "resume": ["resume", "--hub-url", url, "--token", "t"],
        "kill --gateway": ["kill", "--gateway", url + "/v1", "--token", "t", "--reason", "test"],
        "resume --gateway": ["resume", "--gateway", url + "/v1", "--token", "t"],
        "eval humaneval": ["eval", "humaneval", "--model", "m", "--base-url", url + "/v1", "--tasks", "0",
                           "--no-progress"],
        "eval humaneval --push": ["eval", "humaneval", "--samples", str(samples), "--tasks", "0", "--workers", "1",
                                  "--push", "acme/tiny", "--hub", url, "--token", "t", "--no-progress"],
    }


NAMES = list(commands("", Path(), Path()))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "README.md").write_text("---\nlicense: apache-2.0\n---\n# Tiny\n")
    return tmp_path / "model"


@pytest.mark.parametrize("name", NAMES)
def test_closed_port(name: str, folder: Path, samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    code, err = run(commands(url, folder, samples)[name], capsys)
    assert code == Unavailable.exit_code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach"), err
    assert url in err and "`aperto " in err  # where, and what to start


# (status, body) the stand-in answers every request with, the exit code, and words the line must carry
HUB_401 = {"error": "the token is not valid", "code": "invalid_token", "message": "the token is not valid",
           "hint": "make one with `aperto token create`"}
GATEWAY_503 = {"error": {"message": "model m is halted: incident 7", "type": "service_unavailable",
                         "code": "model_halted", "param": None}}
CASES: list[tuple[int, Any, int, list[str]]] = [
    (401, HUB_401, InvalidToken.exit_code, ["answered 401", "the token is not valid", "aperto token create"]),
    (403, {"error": "no", "code": "forbidden", "message": "only an administrator may do this"},
     Forbidden.exit_code, ["answered 403", "only an administrator may do this"]),
    (409, {"error": "taken", "code": "conflict", "message": "that repo exists"}, Conflict.exit_code,
     ["answered 409", "that repo exists"]),
    (503, GATEWAY_503, Halted.exit_code, ["answered 503", "incident 7"]),
    (503, {"error": {"message": "no word from the hub", "type": "service_unavailable", "code": "policy_stale"}},
     Stale.exit_code, ["no word from the hub"]),
    (401, {"error": {"message": "invalid API key", "type": "authentication_error", "code": "invalid_token"}},
     InvalidToken.exit_code, ["invalid API key", "APERTO_TOKEN"]),
    (500, "<html>Internal  Server\nError</html>", 1, ["answered 500", "<html>Internal Server Error</html>"]),
]


@pytest.fixture
def answer() -> Iterator[tuple[str, dict[str, Any]]]:
    wanted: dict[str, Any] = {}

    async def reply(request: Request) -> Response:
        status, body = wanted["status"], wanted["body"]
        if isinstance(body, str):
            return Response(body, status_code=status, media_type="text/html")
        return JSONResponse(body, status_code=status)

    app = Starlette(routes=[Route("/{path:path}", reply, methods=["GET", "POST", "PATCH"])])
    with serve_url(app) as url:
        yield url, wanted


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{json.dumps(c[1])[:40]}")
def test_error_answers(name: str, case: tuple[int, Any, int, list[str]], answer: tuple[str, dict[str, Any]],
                       folder: Path, samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url, wanted = answer
    status, body, exit_code, words = case
    wanted.update(status=status, body=body)
    code, err = run(commands(url, folder, samples)[name], capsys)
    assert code == exit_code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {url}/"), err
    for word in words:
        assert word in err


def test_the_exit_code_follows_the_error_code_before_the_status() -> None:
    request = httpx.Request("GET", "http://h/v1/x")
    halted = error_from(httpx.Response(503, json=GATEWAY_503, request=request))
    assert isinstance(halted, Halted) and halted.exit_code == 7
    unknown = error_from(httpx.Response(503, json={"error": {"message": "busy", "code": "new_code"}}, request=request))
    assert type(unknown) is Unavailable and "http://h/v1/x answered 503: busy" in unknown.message
    plain = error_from(httpx.Response(404, json={"detail": "Not Found"}, request=request))
    assert plain.exit_code == 4 and plain.message.endswith("Not Found")


def test_the_real_hub_s_refusals(live_hub: tuple[str, Path, dict[str, str]], folder: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    url, _, tokens = live_hub
    code, err = run(["publish", str(folder), "--repo", "acme/tiny", "--hub", url, "--token", "nonsense"], capsys)
    assert code == InvalidToken.exit_code and err.startswith(f"error: {url}/api/") and "401" in err
    code, err = run(["publish", str(folder), "--repo", "acme/tiny", "--hub", url, "--token", tokens["bob"]], capsys)
    assert code == Forbidden.exit_code and "403" in err, err
    code, err = run(["kill", "--hub-url", url, "--token", tokens["bob"], "--reason", "x"], capsys)
    assert code == Forbidden.exit_code and err.startswith(f"error: {url}/api/kill answered 403"), err
