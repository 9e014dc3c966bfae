"""HumanEval runs keep to the data dir, started from the web or with the CLI's --data-dir: all state of
``aperto up --data-dir D`` lives under D, the run folder of a UI-launched run included."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from hubtools import APACHE_CARD, People, publish
from livekit import serve_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from test_web import sign_in

from aperto.cli.main import cli
from aperto.config import Settings
from aperto.evals.dataset import load_problems
from aperto.hub.app import create_app
from aperto.hub.service import Hub


def stand_in_gateway() -> Starlette:
    """Answers every completion with HumanEval/0's canonical solution."""
    solution = load_problems()["HumanEval/0"].canonical_solution

    async def models(request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": "acme/tiny", "object": "model"}]})

    async def completions(request: Request) -> JSONResponse:
        return JSONResponse({"choices": [{"index": 0, "text": solution, "finish_reason": "stop"}]})

    return Starlette(routes=[Route("/v1/models", models), Route("/v1/completions", completions, methods=["POST"])])


def test_a_web_run_writes_only_under_the_data_dir(hub: Hub, settings: Settings, people: People, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"  # where the default data dir would be
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("APERTO_DATA_DIR", raising=False)
    publish(hub, people.alice, "acme/tiny", {"README.md": APACHE_CARD.encode(), "model.gguf": b"GGUF"})
    app = create_app(settings, hub)
    with serve_url(stand_in_gateway()) as gateway, serve_url(app) as url, httpx.Client(base_url=url) as c:
        settings.gateway_url, settings.hub_url = gateway + "/v1", url
        csrf = sign_in(c, people.alice)
        page = c.post("/models/acme/tiny/evals/run", data={"csrf": csrf, "limit": "1"}, follow_redirects=True).text
        status_url = re.search(r'data-run-status="([^"]+)"', page).group(1)
        deadline = time.monotonic() + 120
        while (run := c.get(status_url).json())["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
    assert run["status"] == "done", run["log_tail"]
    runs = list((settings.data_dir / "evals" / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "summary.json").is_file()
    assert not home.exists() or not any(home.rglob("*")), sorted(home.rglob("*"))
    assert [e["value"] for e in hub.evals.evals("acme/tiny") if e["metric"] == "pass@1"] == [1.0]


def test_the_cli_takes_the_data_dir_as_a_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("APERTO_DATA_DIR", raising=False)
    with serve_url(stand_in_gateway()) as gateway:
        result = CliRunner().invoke(cli, ["eval", "humaneval", "--model", "m", "--base-url", gateway + "/v1",
                                          "--tasks", "0", "--workers", "1", "--no-progress",
                                          "--data-dir", str(tmp_path / "D")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    runs = list((tmp_path / "D" / "evals" / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "summary.json").is_file()
    assert not home.exists() or not any(home.rglob("*")), sorted(home.rglob("*"))
