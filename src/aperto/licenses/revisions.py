"""The registry of each family's official documents and their revisions (``data/registry/revisions.toml``)."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "registry" / "revisions.toml"


@dataclass(frozen=True)
class Revision:
    family: str
    kind: str            # license | acceptable-use-policy | notice
    date: str            # ISO date the document states
    title: str
    refs: tuple[str, ...]


@functools.cache
def all_revisions() -> tuple[Revision, ...]:
    raw = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))
    return tuple(Revision(d["family"], d["kind"], d["date"], d["title"], tuple(d["refs"])) for d in raw["document"])


@functools.cache
def _by_ref() -> dict[str, Revision]:
    return {ref: r for r in all_revisions() for ref in r.refs}


def date_of(ref: str) -> str:
    """The revision date of the document a reference text is a copy of ("" when not registered)."""
    found = _by_ref().get(ref)
    return found.date if found else ""


def of_family(family: str) -> list[Revision]:
    """A family's registered documents, oldest first."""
    return sorted((r for r in all_revisions() if r.family == family), key=lambda r: (r.kind, r.date))
