"""HumanEval on the web: the leaderboard page with its server-drawn SVG chart, and
"Run HumanEval (subset)" on a model page.

A run is the eval CLI in a subprocess (``python -m aperto eval humaneval``): the hub
never imports aperto.evals. The run talks to the gateway and pushes its scores back
to this hub with the signed-in user's own token, passed in the environment rather
than on the command line so other local users cannot read it from the process list.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from html import escape
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from aperto.errors import BadInput, Forbidden, NotFound
from aperto.hub.i18n import N_
from aperto.hub.routes.deps import acting_token, get_hub, repo_name
from aperto.hub.routes.web_base import back, check_csrf, is_owner, page, tr, web_caller
from aperto.hub.service import Hub

router = APIRouter(include_in_schema=False)
UI_MAX_LIMIT = 20  # the full 164 problems are for the CLI, not a web request
MEASURED = "measured on this hub"
MAX_RUNNING = 2  # web-started runs at once, across all models

# (repo, limit, gateway base URL, hub URL) -> argv. Tests replace it (app.state.eval_command).
CommandBuilder = Callable[[str, int, str, str], list[str]]


def eval_command(repo: str, limit: int, gateway_url: str, hub_url: str) -> list[str]:
    # --api-key and --token come from APERTO_API_KEY / APERTO_TOKEN in the environment
    return [sys.executable, "-m", "aperto", "eval", "humaneval", "--model", repo, "--limit", str(limit),
            "--base-url", gateway_url, "--push", repo, "--hub", hub_url, "--no-progress"]


def _runs(request: Request) -> dict[str, dict[str, Any]]:
    state = request.app.state
    if not hasattr(state, "ui_eval_runs"):
        state.ui_eval_runs = {}
    return state.ui_eval_runs


def _status(run: dict[str, Any]) -> dict[str, Any]:
    """Poll the process; the public view of a run (no tokens, no process object)."""
    proc = run["proc"]
    code = proc.poll()
    if code is not None and run["status"] == "running":
        run["status"] = "done" if code == 0 else "failed"
        run["finished"] = time.time()
        run["log_tail"] = run["log"].read_text(errors="replace")[-2000:] if run["log"].exists() else ""
    return {"id": run["id"], "repo": run["repo"], "limit": run["limit"], "status": run["status"],
            "started": run["started"], "finished": run.get("finished"), "exit_code": code,
            "log_tail": run.get("log_tail", "")}


def runs_for(request: Request, repo_id: str) -> list[dict[str, Any]]:
    return [_status(r) for r in _runs(request).values() if r["repo"] == repo_id]


def as_percent(row: dict[str, Any]) -> float:
    """The CLI pushes fractions (0.12); papers publish percent (12.0)."""
    value = float(row.get("value") or 0.0)
    return value * 100 if row.get("source", MEASURED) == MEASURED and value <= 1.0 else value


def measured(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This hub's eval results for the model page: percent plus the run's settings."""
    out = []
    for r in rows:
        settings = r.get("settings") or {}
        out.append({**r, "source": MEASURED, "percent": as_percent({**r, "source": MEASURED}),
                    "temperature": settings.get("temperature"), "date": (r.get("at") or r.get("submitted_at") or "")[:10]})
    return out


def catalogue_names() -> dict[str, str]:
    try:
        from aperto import catalog

        return {f.id: f.name for f in catalog.all()}
    except Exception:  # the hub works without the catalogue
        return {}


def leaderboard_rows(hub: Hub) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for repo in hub.repos.list_repos():
        for r in measured(hub.evals.evals(repo["id"])):
            if r.get("benchmark") == "humaneval":
                rows.append({**r, "model": repo["id"], "verified": True})
    names = catalogue_names()
    for r in hub.evals.leaderboard("humaneval"):
        if r.get("source") != MEASURED:
            rows.append({**r, "percent": as_percent(r), "name": names.get(r["model"], r["model"])})
    return sorted(rows, key=lambda r: -r["percent"])


def bar_chart(rows: list[dict[str, Any]], title: str, here: str = "measured here") -> str:
    """A horizontal bar chart as inline SVG, one bar per row, each with its label
    above it (narrow enough to stay readable on a phone) and its value as text. No JS."""
    row_h, bar, width = 46, 16, 360  # about the width of a phone: text stays its set size there
    scale = (width - 60) / 100.0
    height = 10 + len(rows) * row_h
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title" '
             f'xmlns="http://www.w3.org/2000/svg"><title id="chart-title">{escape(title)}</title>']
    for i, r in enumerate(rows):
        y = 6 + i * row_h
        mine = r.get("source") == MEASURED
        name = f'{r.get("name") or r["model"]} ({r.get("metric", "pass@1")})'
        room = 44 - (len(here) + 3 if mine else 0)  # a label fits the 360-unit width at its font size
        label = name if len(name) <= room else name[:room - 1] + "…"
        w = max(r["percent"] * scale, 1)
        parts.append(
            f'<g class="bar{" measured" if mine else ""}"><text x="0" y="{y + 13}">{escape(label)}'
            f'{" · " + escape(here) if mine else ""}</text>'
            f'<rect x="0" y="{y + 18}" width="{w:.1f}" height="{bar}"><title>{escape(name)}: '
            f'{r["percent"]:.1f}%</title></rect>'
            f'<text x="{w + 6:.1f}" y="{y + 31}">{r["percent"]:.1f}%</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def model_chart(repo_id: str, evals: list[dict[str, Any]], facts: dict[str, Any] | None,
                _: Callable[..., str] = lambda m, **v: m % v if v else m) -> str:
    """The model page's slot: its measured pass@1 beside its published figures."""
    rows = [{**e, "model": repo_id} for e in evals if e.get("benchmark") == "humaneval" and e.get("metric") == "pass@1"]
    for s in (facts or {}).get("scores", []):
        if facts and s.get("benchmark") == "humaneval" and s.get("metric") == "pass@1":
            rows.append({"model": repo_id, "name": _("%(name)s, published", name=facts["name"]), "metric": "pass@1",
                         "percent": float(s["value"]), "source": s.get("source")})
    return bar_chart(rows, _("HumanEval pass@1 for %(repo)s, percent", repo=repo_id), _("measured here")) if rows else ""


@router.get("/leaderboard", response_class=HTMLResponse)
def leaderboard_page(request: Request, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    rows = leaderboard_rows(hub)
    chart_rows = [r for r in rows if r.get("metric") == "pass@1"]
    return page(request, "leaderboard.html", hub, rows=rows,
                chart=bar_chart(chart_rows, tr(request)("HumanEval pass@1, percent: measured on this hub and published"),
                                tr(request)("measured here")))


def _owner_or_refuse(request: Request, hub: Hub, repo_id: str):  # noqa: ANN202
    me = web_caller(request, hub)
    repo = hub.repos.repo(repo_id)  # RepoNotFound -> 404
    if me is None or not is_owner(me, repo):
        raise Forbidden(N_("only the licensor of this model or an administrator may run evaluations from the web"))
    return me


@router.post("/models/{org}/{name}/evals/run")
async def start_run(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> RedirectResponse:
    form = await check_csrf(request)
    repo_id = repo_name(org, name)
    _owner_or_refuse(request, hub, repo_id)
    try:
        limit = int(str(form.get("limit") or "5"))
    except ValueError as exc:
        raise BadInput(N_("the limit must be a whole number")) from exc
    if not 1 <= limit <= UI_MAX_LIMIT:
        raise BadInput(N_("from the web the limit is 1 to %(max)s; run the full set with the CLI"),
                       values={"max": UI_MAX_LIMIT})
    if any(r["status"] == "running" for r in runs_for(request, repo_id)):
        return back(f"/models/{org}/{name}", tr(request)("A HumanEval run for this model is already running."))
    running = sum(_status(r)["status"] == "running" for r in _runs(request).values())
    if running >= MAX_RUNNING:  # each run is CPU-heavy (model + sandbox); the CLI is for more
        return back(f"/models/{org}/{name}",
                    tr(request)("%(n)s HumanEval runs are going; try again when one ends.", n=running))
    settings = request.app.state.settings
    builder: CommandBuilder = getattr(request.app.state, "eval_command", None) or eval_command
    argv = builder(repo_id, limit, settings.gateway_url, settings.hub_url)
    token = acting_token(request)
    run_id = uuid.uuid4().hex[:12]
    log = settings.state_dir("ui-evals") / f"{run_id}.log"
    # the run folder and caches belong under this hub's data dir, like all of its state
    env = {**os.environ, "APERTO_API_KEY": token, "APERTO_TOKEN": token,
           "APERTO_DATA_DIR": str(settings.data_dir)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
    runs = _runs(request)
    for old in [k for k, r in runs.items() if r["status"] != "running"][:-20]:
        del runs[old]  # keep the last 20 finished runs' status; their scores live in the store
    runs[run_id] = {"id": run_id, "repo": repo_id, "limit": limit, "status": "running",
                              "started": time.time(), "proc": proc, "log": log}
    return back(f"/models/{org}/{name}",
                tr(request)("HumanEval run %(id)s started on %(n)s problems.", id=run_id, n=limit))


@router.get("/models/{org}/{name}/evals/run/{run_id}")
def run_status(request: Request, org: str, name: str, run_id: str, hub: Hub = Depends(get_hub)) -> JSONResponse:
    repo_id = repo_name(org, name)
    _owner_or_refuse(request, hub, repo_id)
    run = _runs(request).get(run_id)
    if run is None or run["repo"] != repo_id:
        raise NotFound(N_("no HumanEval run %(run)s for %(repo)s"), values={"run": run_id, "repo": repo_id})
    return JSONResponse(_status(run))
