"""The HumanEval run: generate (optional), execute each sample in the sandbox, score.

``evaluate_samples`` scores completions you already have; ``run_humaneval``
generates them through an OpenAI-compatible endpoint first. Both stream rows into
an optional RunDir, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aperto import __version__
from aperto.evals import scoring
from aperto.evals.dataset import Problem
from aperto.evals.generate import Generator
from aperto.evals.runs import RunDir
from aperto.evals.sandbox import Job, Outcome, Sandbox


@dataclass(frozen=True)
class Limits:
    """Per-task wall time: max(floor, factor x reference runtime), at most cap."""

    floor: float = 1.0
    factor: float = 20.0
    cap: float = 10.0
    unknown: float = 3.0  # when the reference solution is missing or does not pass

    def for_reference(self, seconds: float | None) -> float:
        if seconds is None:
            return self.unknown
        return round(min(self.cap, max(self.floor, self.factor * seconds)), 3)

    def to_dict(self) -> dict[str, float]:
        return {"floor": self.floor, "factor": self.factor, "cap": self.cap, "unknown": self.unknown}


def reference_times(problems: Iterable[Problem], sandbox: Sandbox, cache: Path | None = None) -> dict[str, float | None]:
    """Seconds the canonical solution takes in the sandbox, measured once per problem and cached."""
    cached: dict[str, float | None] = {}
    if cache and cache.is_file():
        try:
            cached = json.loads(cache.read_text())
        except ValueError:
            cached = {}
    todo = [p for p in problems if p.digest not in cached]
    if todo:
        def measure(problem: Problem) -> tuple[str, float | None]:
            if not problem.canonical_solution:
                return problem.digest, None
            outcome = sandbox.run(Job(problem.task_id, problem.prompt, problem.canonical_solution, problem.test,
                                      problem.entry_point, 20.0))
            return problem.digest, outcome.duration if outcome.passed else None

        with ThreadPoolExecutor(sandbox.size) as pool:
            cached.update(pool.map(measure, todo))
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(cached, indent=0, sort_keys=True))
    return cached


def dataset_fingerprint(problems: dict[str, Problem]) -> str:
    digest = hashlib.sha256()
    for problem in problems.values():
        digest.update(problem.digest.encode())
    return digest.hexdigest()[:16]


class Progress:
    """A tqdm bar with the live pass rate; silent when disabled."""

    def __init__(self, total: int, done: int, passed: int, enabled: bool) -> None:
        self.passed, self.done = passed, done
        self._lock = threading.Lock()
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit="sample", dynamic_ncols=True, desc="humaneval")
            self._postfix()

    def _postfix(self) -> None:
        if self.bar is not None:
            rate = self.passed / self.done if self.done else 0.0
            self.bar.set_postfix_str(f"pass {rate:.1%}")

    def update(self, passed: bool) -> None:
        with self._lock:
            self.done += 1
            self.passed += int(passed)
            if self.bar is not None:
                self.bar.update(1)
                self._postfix()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _row(sample: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
    return {"task_id": sample["task_id"], "sample": sample["sample"], "completion": sample["completion"],
            "verdict": outcome.verdict, "error": outcome.error, "detail": outcome.detail,
            "duration": outcome.duration}


class Evaluation:
    """Executes samples against problems; owns the sandbox for the duration of a ``with`` block."""

    def __init__(self, problems: dict[str, Problem], sandbox: Sandbox, limits: Limits | None = None,
                 cache: Path | None = None) -> None:
        self.problems = problems
        self.sandbox = sandbox
        self.limits = limits or Limits()
        self.cache = cache
        self._timeouts: dict[str, float] = {}

    def timeouts(self, task_ids: Iterable[str]) -> dict[str, float]:
        wanted = [self.problems[t] for t in set(task_ids) if t not in self._timeouts]
        if wanted:
            ref = reference_times(wanted, self.sandbox, self.cache)
            for problem in wanted:
                self._timeouts[problem.task_id] = self.limits.for_reference(ref.get(problem.digest))
        return self._timeouts

    def execute(self, sample: dict[str, Any]) -> dict[str, Any]:
        problem = self.problems[sample["task_id"]]
        timeout = self.timeouts([problem.task_id])[problem.task_id]
        outcome = self.sandbox.run(Job(problem.task_id, problem.prompt, sample["completion"], problem.test,
                                       problem.entry_point, timeout))
        return _row(sample, outcome)

    def score(self, samples: list[dict[str, Any]], run: RunDir | None = None, progress: bool = False,
              on_row: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
        """Execute every sample not already in ``run``; returns all rows in sample order."""
        self.timeouts(s["task_id"] for s in samples)
        done = dict(run.results.rows) if run else {}
        todo = [s for s in samples if (s["task_id"], s["sample"]) not in done]
        bar = Progress(len(samples), len(samples) - len(todo),
                       sum(1 for r in done.values() if r["verdict"] == "passed"), progress)
        results: dict[tuple[str, int], dict[str, Any]] = dict(done)

        def one(sample: dict[str, Any]) -> None:
            row = self.execute(sample)
            if run:
                run.results.append(row)
            results[(row["task_id"], row["sample"])] = row
            bar.update(row["verdict"] == "passed")
            if on_row:
                on_row(row)

        pool = ThreadPoolExecutor(self.sandbox.size)
        try:
            for future in [pool.submit(one, s) for s in todo]:
                future.result()
        finally:
            # on Ctrl-C only the samples in flight finish (and are saved); the rest wait for a resume
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()
        return [results[(s["task_id"], s["sample"])] for s in samples if (s["task_id"], s["sample"]) in results]

    def generate_and_score(self, selected: list[Problem], n: int, generator: Generator, run: RunDir | None,
                           concurrency: int = 4, progress: bool = False) -> list[dict[str, Any]]:
        """Generate n samples per problem (skipping those already in ``run``), executing each as it arrives."""
        self.timeouts(p.task_id for p in selected)
        wanted = [(p, i) for p in selected for i in range(n)]
        have = dict(run.completions.rows) if run else {}
        results: dict[tuple[str, int], dict[str, Any]] = dict(run.results.rows) if run else {}
        bar = Progress(len(wanted), sum(1 for p, i in wanted if (p.task_id, i) in results),
                       sum(1 for p, i in wanted if results.get((p.task_id, i), {}).get("verdict") == "passed"),
                       progress)
        executor = ThreadPoolExecutor(self.sandbox.size)
        pending: list[Future] = []

        def execute(sample: dict[str, Any]) -> None:
            row = self.execute(sample)
            if run:
                run.results.append(row)
            results[(row["task_id"], row["sample"])] = row
            bar.update(row["verdict"] == "passed")

        def produce(problem: Problem, index: int) -> None:
            key = (problem.task_id, index)
            if key in have:
                sample = have[key]
            else:
                completion, raw = generator.complete(problem)
                sample = {"task_id": problem.task_id, "sample": index, "completion": completion, "raw": raw}
                if run:
                    run.completions.append(sample)
            if key not in results:
                pending.append(executor.submit(execute, sample))

        pool = ThreadPoolExecutor(concurrency)
        try:
            for future in [pool.submit(produce, p, i) for p, i in wanted]:
                future.result()
            for future in list(pending):
                future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            executor.shutdown(wait=True, cancel_futures=True)
            bar.close()
        return [results[(p.task_id, i)] for p, i in wanted if (p.task_id, i) in results]


def summarise(rows: list[dict[str, Any]], problems: dict[str, Problem], ks: Iterable[int], isolation: dict[str, Any],
              settings: dict[str, Any], wall_s: float, run_id: str | None = None) -> dict[str, Any]:
    counts: dict[str, tuple[int, int]] = {}
    for row in rows:
        n, c = counts.get(row["task_id"], (0, 0))
        counts[row["task_id"]] = (n + 1, c + (row["verdict"] == "passed"))
    ns = [n for n, _ in counts.values()]
    return {
        "benchmark": "humaneval",
        "run_id": run_id or uuid.uuid4().hex[:12],
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "harness": f"aperto {__version__}",
        "problems": len(counts),
        "problems_in_set": len(problems),
        "dataset": dataset_fingerprint(problems),
        "samples": len(rows),
        "n": min(ns) if ns else 0,
        "scores": scoring.summarise(counts, ks),
        "ci_method": scoring.CI_METHOD,
        "verdicts": dict(Counter(r["verdict"] for r in rows)),
        "isolation": isolation,
        "settings": settings,
        "wall_s": round(wall_s, 3),
        "samples_per_s": round(len(rows) / wall_s, 1) if wall_s > 0 else None,
    }


def now() -> float:
    return time.monotonic()
