"""Presenting a summary, and pushing it to the hub (docs/contracts.md, "Evaluation results on the hub")."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from aperto.errors import ApertoError, Forbidden, NotFound, Unauthorized, Unavailable


def text(summary: dict[str, Any]) -> str:
    lines = [f"HumanEval: {summary['problems']} problems, {summary['samples']} samples (n={summary['n']})"]
    for name, score in summary["scores"].items():
        low, high = score["ci95"]
        lines.append(f"  {name:<8} {score['value']:.2%}   95% CI [{low:.2%}, {high:.2%}]")
    lines.append(f"  CI: {summary['ci_method']}")
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(summary["verdicts"].items()))
    lines.append(f"  verdicts: {verdicts}")
    iso = summary["isolation"]
    lines.append(f"  isolation: {iso.get('level')} ({iso.get('summary')})")
    lines.append(f"  wall time {summary['wall_s']:.1f} s, {summary['samples_per_s']} samples/s")
    return "\n".join(lines)


def hub_payloads(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One body per pass@k, in the contract's shape."""
    bodies = []
    for name, score in summary["scores"].items():
        k = int(name.split("@")[1])
        bodies.append({
            "benchmark": "humaneval", "metric": name, "value": score["value"], "ci95": score["ci95"],
            "n": summary["n"], "k": k, "samples": summary["samples"],
            "settings": {**summary["settings"], "isolation": summary["isolation"].get("level"),
                         "ci_method": summary["ci_method"], "harness": summary["harness"],
                         "problems": summary["problems"], "dataset": summary["dataset"]},
            "run_id": summary["run_id"], "at": summary["at"],
        })
    return bodies


def push(summary: dict[str, Any], repo: str, hub_url: str, token: str | None, timeout: float = 30.0) -> list[Any]:
    """POST each pass@k to ``{hub}/api/models/{repo}/evals``; returns the hub's answers."""
    url = f"{hub_url.rstrip('/')}/api/models/{quote(repo, safe='/')}/evals"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answers = []
    with httpx.Client(timeout=timeout, headers=headers) as client:
        for body in hub_payloads(summary):
            try:
                response = client.post(url, json=body)
            except httpx.TransportError as exc:
                raise Unavailable(f"cannot reach the hub at {hub_url}: {exc}") from exc
            if response.status_code == 401:
                raise Unauthorized("the hub refused the token", hint="pass --token or set APERTO_TOKEN")
            if response.status_code == 403:
                raise Forbidden(f"the hub refused: {response.text[:200]}", hint="the token needs publish scope on the repo")
            if response.status_code == 404:
                raise NotFound(f"no model {repo!r} on the hub")
            if response.status_code >= 400:
                raise ApertoError(f"the hub answered {response.status_code}: {response.text[:300]}")
            answers.append(response.json() if response.content else None)
    return answers
