"""HumanEval for aperto: load problems, generate over HTTP, execute in a sandbox, score.

    from aperto.evals import load_problems, Sandbox, Evaluation
    problems = load_problems()
    with Sandbox() as box:
        rows = Evaluation(problems, box).score(samples)

Names are resolved lazily: the sandbox worker imports ``aperto.evals.wire`` and must
not pay for httpx and friends. Importing this package starts nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Problem": "dataset", "load_problems": "dataset", "read_samples": "dataset", "select": "dataset",
    "GenerationSettings": "generate", "Generator": "generate",
    "Evaluation": "harness", "Limits": "harness", "reference_times": "harness", "summarise": "harness",
    "RunDir": "runs", "Job": "sandbox", "Outcome": "sandbox", "Sandbox": "sandbox",
    "bootstrap_ci": "scoring", "pass_at_k": "scoring",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aperto.evals' has no attribute {name!r}")
    return getattr(importlib.import_module(f"aperto.evals.{module}"), name)
