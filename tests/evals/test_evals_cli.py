"""The CLI end to end: scoring a samples file, generating over real HTTP, resuming, pushing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from evals_helpers import FakeEndpoint

from aperto.cli.main import cli
from aperto.evals.dataset import load_problems

TASKS = ["HumanEval/0", "HumanEval/2", "HumanEval/4", "HumanEval/7"]


@pytest.fixture(scope="module")
def problems():
    return load_problems()


@pytest.fixture()
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("APERTO_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def invoke(*args):
    result = CliRunner().invoke(cli, ["eval", "humaneval", "--workers", "2", *args], catch_exceptions=False)
    return result


def write_samples(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_score_a_samples_file_as_json(env, problems):
    rows = []
    for t in TASKS:
        rows.append({"task_id": t, "completion": problems[t].canonical_solution})
        rows.append({"task_id": t, "completion": "    return None\n"})
    write_samples(env / "s.jsonl", rows)
    result = invoke("--samples", str(env / "s.jsonl"), "--tasks", ",".join(TASKS), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["summary"]["n"] == 2 and out["summary"]["problems"] == 4
    assert out["summary"]["scores"]["pass@1"]["value"] == pytest.approx(0.5)
    assert "pass@10" not in out["summary"]["scores"]
    assert [s["verdict"] for s in out["samples"]] == ["passed", "failed"] * 4
    assert out["summary"]["isolation"]["level"] in ("strong", "partial", "weak")


def test_bad_samples_file_is_a_typed_error(env):
    (env / "bad.jsonl").write_text('{"task_id": "HumanEval/999", "completion": "x"}\n')
    result = CliRunner().invoke(cli, ["eval", "humaneval", "--samples", str(env / "bad.jsonl")])
    assert result.exit_code != 0
    assert "unknown task" in str(result.exception)


def test_resume_skips_samples_already_scored(env, problems):
    rows = [{"task_id": t, "completion": problems[t].canonical_solution} for t in TASKS]
    write_samples(env / "s.jsonl", rows)
    run = env / "run"
    run.mkdir()
    # a previous, interrupted run scored the first sample (its row is kept as is) and tore the next line
    kept = {"task_id": TASKS[0], "sample": 0, "completion": "x", "verdict": "failed", "error": "Marker",
            "detail": "", "duration": 0.0}
    (run / "results.jsonl").write_text(json.dumps(kept) + "\n" + '{"task_id": "HumanEval/2", "sam')
    args = ["--samples", str(env / "s.jsonl"), "--tasks", ",".join(TASKS), "--run", str(run)]
    (run / "settings.json").write_text(json.dumps({"samples": str(env / "s.jsonl")}))
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [s["verdict"] for s in out["samples"]] == ["failed", "passed", "passed", "passed"]
    lines = (run / "results.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(x) for x in lines)
    assert json.loads((run / "summary.json").read_text())["samples"] == 4


def test_generate_over_http_resume_and_push(env, problems):
    answers = {problems[t].prompt: problems[t].canonical_solution + "\n\ndef extra():\n    pass\n" for t in TASKS}
    server = FakeEndpoint(answers)
    try:
        run = env / "gen"
        args = ["--model", "toy", "--base-url", server.url + "/v1", "--tasks", ",".join(TASKS), "-n", "2",
                "--run", str(run), "--no-progress", "--concurrency", "1"]
        server.fail_after = 3
        first = CliRunner().invoke(cli, ["eval", "humaneval", "--workers", "2", *args])
        assert first.exit_code != 0  # the endpoint broke mid-run
        done = len((run / "completions.jsonl").read_text().splitlines())
        assert done == 3
        server.fail_after = None
        second = invoke(*args, "--push", "org/toy", "--hub", server.url, "--token", "aperto_test")
        assert second.exit_code == 0, second.output
        assert server.served == 8  # nothing generated twice
        assert "pass@1   100.00%" in second.output
        summary = json.loads((run / "summary.json").read_text())
        assert summary["samples"] == 8 and summary["settings"]["temperature"] == 0.0
        path, body, auth = server.pushed[0]
        assert path == "/api/models/org/toy/evals" and auth == "Bearer aperto_test"
        assert body["metric"] == "pass@1" and body["value"] == 1.0 and body["n"] == 2 and body["samples"] == 8
        assert body["settings"]["model"] == "toy" and len(body["ci95"]) == 2
    finally:
        server.close()


def test_chat_mode_extracts_fenced_code(env, problems):
    answers = {problems[t].prompt.strip(): "Here you go:\n```python\n" + problems[t].prompt
               + problems[t].canonical_solution + "\n```\nHope it helps." for t in TASKS}
    server = FakeEndpoint(answers, chat=True)
    try:
        result = invoke("--model", "toy", "--base-url", server.url + "/v1", "--mode", "chat",
                        "--tasks", ",".join(TASKS), "--run", str(env / "chat"), "--json")
        assert result.exit_code == 0, result.output
        out = json.loads(result.output)
        assert [s["verdict"] for s in out["samples"]] == ["passed"] * 4
    finally:
        server.close()


def test_changed_settings_refuse_to_mix_runs(env, problems):
    write_samples(env / "s.jsonl", [{"task_id": "HumanEval/0", "completion": "    return False\n"}])
    run = env / "mix"
    assert invoke("--samples", str(env / "s.jsonl"), "--tasks", "0", "--run", str(run), "--json").exit_code == 0
    result = CliRunner().invoke(cli, ["eval", "humaneval", "--samples", str(env / "s.jsonl"), "--tasks", "0",
                                      "--memory-mb", "256", "--run", str(run)])
    assert result.exit_code != 0 and "other settings" in str(result.exception)
