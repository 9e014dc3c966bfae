"""Model pages for metadata-only catalogue entries (Llama 2), the leaderboard with
its server-drawn SVG chart, and "Run HumanEval (subset)" with a stand-in command."""

from __future__ import annotations

import re
import sys
import time

import httpx
from fastapi.testclient import TestClient
from hubtools import APACHE_CARD, People, catalogue_token, publish
from test_web import sign_in
from test_web_chat import serve

from aperto.config import Settings
from aperto.hub.app import create_app
from aperto.hub.service import Hub

LLAMA2 = "meta-llama/Llama-2-7b-hf"
LLAMA2_CARD = b"---\nlicense: llama2\n---\n# Llama 2 7B\nMetadata only: the weights are not hosted here.\n"


def test_metadata_only_llama2_page(client: TestClient, people: People) -> None:
    publish(people.hub, catalogue_token(people), LLAMA2, {"README.md": LLAMA2_CARD}, gating="auto")
    catalogue = client.get("/").text
    assert "cat-open-weights-restricted" in catalogue and "OSI open source: no" in catalogue
    page = client.get(f"/models/{LLAMA2}").text
    assert f"<title>{LLAMA2} · aperto hub</title>" in page
    assert "open weights with restrictions" in page
    failed = re.findall(r'<tr class="result-fail"><td>(\d+)\. ', page)
    assert failed == ["5", "6"]
    assert ">§2</td>" in page  # the 700M monthly-users clause behind criterion 5
    assert "§1.b.v · use of outputs" in page  # clauses explained, with their numbers
    assert "The weights are not hosted here." in page
    assert "Chat with this model" not in page and "Run HumanEval" not in page
    assert "Weights already downloaded cannot be recalled" in page
    # published HumanEval from the catalogue, with its source
    assert re.search(r"<svg class=\"chart\".*>Llama 2 7B, published \(pass@1\)</text>.*12\.8%</text>", page)
    assert "12.8%" in page and "Llama 2" in page and ("verified against the source" in page or "not verified" in page)
    big = client.get(f"/models/{LLAMA2}", params={"check": 1, "mau": 800_000_000, "use": "commercial"}).text
    assert "Only with the licensor" in big and "§2" in big
    small = client.get(f"/models/{LLAMA2}", params={"check": 1, "mau": 1000, "use": "commercial"}).text
    assert "Yes, with obligations" in small and "Obligations:" in small


def test_model_with_weights_is_not_called_metadata_only(client: TestClient, people: People) -> None:
    publish(people.hub, people.alice, "acme/tiny", {"README.md": APACHE_CARD.encode(), "model.gguf": b"GGUF"})
    page = client.get("/models/acme/tiny").text
    assert "not hosted here" not in page and "Chat with this model" in page


def test_leaderboard_chart_has_a_bar_per_row(client: TestClient, people: People) -> None:
    publish(people.hub, people.alice, "acme/tiny", {"README.md": APACHE_CARD.encode(), "model.gguf": b"GGUF"})
    people.hub.evals.add_eval(people.caller(people.alice), "acme/tiny", {
        "benchmark": "humaneval", "metric": "pass@1", "value": 0.25, "n": 1, "k": 1, "samples": 4,
        "settings": {"temperature": 0.0}, "at": "2026-11-23T10:00:00Z"})
    page = client.get("/leaderboard").text
    svg = re.search(r"<svg class=\"chart\".*?</svg>", page, re.DOTALL).group(0)
    table = re.search(r'<table id="leaderboard">.*?</table>', page, re.DOTALL).group(0)
    pass1_rows = [row for row in re.findall(r"<tr><td>.*?</tr>", table, re.DOTALL) if "<td>pass@1</td>" in row]
    assert len(re.findall(r"<rect ", svg)) == len(pass1_rows) > 5
    assert re.search(r">GPT-4[^<]*</text>", svg) and "67.0%" in svg
    assert "acme/tiny (pass@1)" in svg and "25.0%" in svg  # measured fraction shown as percent
    assert "n=1, k=1, temperature 0.0, 4 samples" in table and "2026-11-23" in table
    assert 'role="img"' in svg and "<title" in svg


FAKE_EVAL = r"""
import os, sys, httpx
repo, hub, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
assert os.environ["APERTO_API_KEY"] and os.environ["APERTO_TOKEN"]
body = {"benchmark": "humaneval", "metric": "pass@1", "value": 0.4, "n": 1, "k": 1, "samples": limit,
        "settings": {"temperature": 0.0, "note": "stand-in"}, "at": "2026-11-23T11:00:00Z"}
r = httpx.post(f"{hub}/api/models/{repo}/evals", json=body,
               headers={"Authorization": "Bearer " + os.environ["APERTO_TOKEN"]})
r.raise_for_status()
"""


def test_run_humaneval_from_the_page(hub: Hub, settings: Settings, people: People) -> None:
    publish(hub, people.alice, "acme/tiny", {"README.md": APACHE_CARD.encode(), "model.gguf": b"GGUF"})
    app = create_app(settings, hub)
    calls = []

    def command(repo: str, limit: int, gateway_url: str, hub_url: str) -> list[str]:
        calls.append((repo, limit, gateway_url, hub_url))
        return [sys.executable, "-c", FAKE_EVAL, repo, hub_url, str(limit)]

    app.state.eval_command = command
    with serve(app) as url:
        settings.hub_url = url
        with httpx.Client(base_url=url) as c:
            # bob (no role on the repo) cannot start a run
            bob_csrf = sign_in(c, people.bob)
            assert c.post("/models/acme/tiny/evals/run", data={"csrf": bob_csrf, "limit": "3"}).status_code == 403
            c.cookies.clear()
            sign_in(c, people.alice)
            page = c.get("/models/acme/tiny").text
            assert "Run HumanEval (subset)" in page and 'max="20"' in page
            csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
            assert c.post("/models/acme/tiny/evals/run", data={"csrf": "nope", "limit": "3"}).status_code == 403
            assert c.post("/models/acme/tiny/evals/run", data={"csrf": csrf, "limit": "164"}).status_code == 400
            assert calls == []
            page = c.post("/models/acme/tiny/evals/run", data={"csrf": csrf, "limit": "3"},
                          follow_redirects=True).text
            assert calls == [("acme/tiny", 3, settings.gateway_url, url)]
            status_url = re.search(r'data-run-status="([^"]+)"', page).group(1)
            assert "running…" in page or "done" in page
            deadline = time.monotonic() + 30
            while (run := c.get(status_url).json())["status"] == "running" and time.monotonic() < deadline:
                time.sleep(0.1)
            assert run["status"] == "done", run
            page = c.get("/models/acme/tiny").text
            assert "40.0%" in page and "n=1, k=1, temperature 0.0, 3 samples" in page
            assert "acme/tiny (pass@1)" in c.get("/leaderboard").text
            c.cookies.clear()
            sign_in(c, people.bob)
            assert c.get(status_url).status_code == 403


def test_default_eval_command_matches_the_cli() -> None:
    """The web's argv parses with the real eval CLI (option names checked, nothing run);
    the tokens travel in the environment, not on the command line."""
    from aperto.cli.evals import humaneval_cmd
    from aperto.hub.routes.web_evals import eval_command

    argv = eval_command("acme/tiny", 5, "http://gw/v1", "http://hub")
    assert argv[:5] == [sys.executable, "-m", "aperto", "eval", "humaneval"]
    ctx = humaneval_cmd.make_context("humaneval", argv[5:], default_map={})
    assert ctx.params["model"] == "acme/tiny" and ctx.params["limit"] == 5
    assert ctx.params["push_repo"] == "acme/tiny" and ctx.params["hub_url"] == "http://hub"
    assert ctx.params["base_url"] == "http://gw/v1"
    assert not any("aperto_" in a for a in argv)
