"""A run on disk: append-only JSONL that survives interruption.

A run folder holds ``completions.jsonl`` (what the model generated), ``results.jsonl``
(one verdict per sample) and ``summary.json``. Every line is flushed and fsynced
before the next sample starts, so an interrupted run loses at most the samples in
flight; on resume, samples already present are skipped. A torn last line (power
cut mid-write) is ignored and rewritten.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from aperto.errors import BadInput, Conflict


class JsonlLog:
    """Rows keyed by (task_id, sample); appends are thread-safe and durable."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[tuple[str, int], dict[str, Any]] = {}
        self._lock = threading.Lock()
        if path.exists():
            self._load()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the log

    def _load(self) -> None:
        good = 0
        with open(self.path, "rb") as f:
            for raw in f:
                try:
                    row = json.loads(raw)
                    key = (row["task_id"], int(row["sample"]))
                except (ValueError, KeyError, TypeError):
                    break  # a torn line can only be the last one; drop it and what follows
                self.rows[key] = row
                good += len(raw)
        if good < self.path.stat().st_size:
            with open(self.path, "r+b") as f:
                f.truncate(good)

    def __contains__(self, key: tuple[str, int]) -> bool:
        return key in self.rows

    def append(self, row: dict[str, Any]) -> None:
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())
            self.rows[(row["task_id"], int(row["sample"]))] = row

    def close(self) -> None:
        self._file.close()


class RunDir:
    """The files of one run. ``settings`` must match on resume: mixing runs is refused."""

    def __init__(self, path: Path | str, settings: dict[str, Any]) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        settings_file = self.path / "settings.json"
        if settings_file.exists():
            try:
                previous = json.loads(settings_file.read_text())
            except ValueError as exc:
                raise BadInput(f"{settings_file} is not JSON") from exc
            changed = sorted(k for k in settings if k in previous and previous[k] != settings[k])
            if changed:
                raise Conflict(f"{self.path} holds a run with other settings ({', '.join(changed)})",
                               hint="use another --run folder, or the same settings to resume")
        else:
            settings_file.write_text(json.dumps(settings, indent=2, sort_keys=True))
        self.settings = settings
        self.completions = JsonlLog(self.path / "completions.jsonl")
        self.results = JsonlLog(self.path / "results.jsonl")

    def write_summary(self, summary: dict[str, Any]) -> Path:
        target = self.path / "summary.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(summary, indent=2))
        os.replace(tmp, target)
        return target

    def close(self) -> None:
        self.completions.close()
        self.results.close()
