"""Toy problem shared by the evals tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

from aperto.evals.sandbox import Job

ADD_PROMPT = 'def add(a, b):\n    """Return a + b."""\n'
ADD_TEST = "\n\ndef check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-5, 5) == 0\n"


def add_job(completion: str, timeout: float = 1.0) -> Job:
    return Job("toy/add", ADD_PROMPT, completion, ADD_TEST, "add", timeout)
