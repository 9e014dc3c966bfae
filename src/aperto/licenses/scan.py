"""Scanning a model zoo: every LICENSE-like text, model card and GGUF file under some paths.

``files`` walks the paths (following symlinks, but never into a folder it has already
entered, so a symlink loop ends with one error line); ``scan`` identifies each file and
yields one ``Scanned`` per file, with either a result or a one-line error, and goes on.
``Summary`` counts the results by family and by status.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aperto.errors import ApertoError
from aperto.licenses.folder import LICENSE_NAMES
from aperto.licenses.identify import EXIT_CODES, Identification, identify_path

BAD_INPUT = 3          # the exit code of a file that could not be read (see aperto.errors)


@dataclass
class Scanned:
    path: str
    result: Identification | None = None
    error: str = ""

    @property
    def exit_code(self) -> int:
        return self.result.exit_code if self.result is not None else BAD_INPUT

    def to_dict(self) -> dict[str, Any]:
        if self.result is None:
            return {"path": self.path, "error": self.error, "exit_code": BAD_INPUT}
        r = self.result
        return {"path": self.path, "id": r.id, "version": r.version, "status": r.status,
                "confidence": round(r.confidence, 3), "document": r.document, "kind": r.kind,
                "language": r.language, "revision": r.revision, "resembles": r.resembles,
                "notes": r.notes, "differences": r.differences, "exit_code": r.exit_code}


@dataclass
class Summary:
    files: int = 0
    errors: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_family: Counter[str] = field(default_factory=Counter)

    def add(self, item: Scanned) -> None:
        self.files += 1
        if item.result is None:
            self.errors += 1
            return
        self.by_status[item.result.status] += 1
        self.by_family[item.result.id or "unknown"] += 1

    def to_dict(self) -> dict[str, Any]:
        return {"files": self.files, "errors": self.errors, "by_status": dict(self.by_status.most_common()),
                "by_family": dict(self.by_family.most_common())}


def wanted(name: str) -> bool:
    """A file a zoo scan reads: a licence-like text, a model card (README.md) or a GGUF file."""
    low = name.lower()
    return bool(LICENSE_NAMES.match(name)) or "licen" in low or low == "readme.md" or low.endswith(".gguf")


def files(paths: Iterable[str | Path], recursive: bool) -> Iterator[tuple[str, str]]:
    """(path, "") for each file to read, or (path, error) for what cannot be walked."""
    seen: set[tuple[int, int]] = set()
    for raw in paths:
        top = Path(raw)
        if not recursive or not top.is_dir():
            yield str(top), ""
            continue
        yield from _walk(top, seen)


def _walk(top: Path, seen: set[tuple[int, int]]) -> Iterator[tuple[str, str]]:
    errors: list[OSError] = []
    for folder, dirs, names in os.walk(top, followlinks=True, onerror=errors.append):
        yield from _unreadable(errors, folder)
        try:
            st = os.stat(folder)
        except OSError as exc:
            dirs[:] = []
            yield folder, f"cannot read the folder: {exc.strerror}"
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirs[:] = []
            yield folder, "already scanned through another path (a symlink loop or a second link): skipped"
            continue
        seen.add((st.st_dev, st.st_ino))
        dirs.sort()
        for name in sorted(names):
            if wanted(name):
                yield os.path.join(folder, name), ""
    yield from _unreadable(errors, str(top))


def _unreadable(errors: list[OSError], where: str) -> Iterator[tuple[str, str]]:
    while errors:
        failed = errors.pop()
        yield str(failed.filename or where), f"cannot read the folder: {failed.strerror}"


def scan(paths: Iterable[str | Path], recursive: bool = False) -> Iterator[Scanned]:
    """Identify every file under `paths`; a file that cannot be read gives an error line, and the scan goes on."""
    memo: dict[tuple[str, bytes], Identification] = {}
    for path, error in files(paths, recursive):
        if error:
            yield Scanned(path, error=error)
            continue
        try:
            yield Scanned(path, identify_path(path, evidence=False, memo=memo))
        except ApertoError as exc:
            yield Scanned(path, error=exc.one_line())
        except (OSError, ValueError, RecursionError) as exc:
            yield Scanned(path, error=f"cannot read {path}: {exc}")


def exit_code(codes: Iterable[int]) -> int:
    """A scan's exit code: the highest of its files' (so any altered, unknown or conflict shows)."""
    return max(codes, default=EXIT_CODES["identified"])
