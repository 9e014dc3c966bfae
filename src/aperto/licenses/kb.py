"""The licence knowledge base: every ``data/*.toml`` file, loaded once and looked up by id or alias.

A data file holds either one licence (its keys at the top level) or several
(a ``[[license]]`` array, as ``_minor.toml`` does). Files are validated when
they load, so a typo in a kind or category fails loudly and names its file.
"""

from __future__ import annotations

import builtins
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aperto.errors import InvalidData, UnknownLicense
from aperto.licenses.terms import Category, Kind, License, Term

DATA_DIR = Path(__file__).resolve().parent / "data"

REQUIRED = ("id", "name", "category")   # version is required too, but may be "" (MIT has none)
LICENSE_KEYS = frozenset(
    {"id", "name", "version", "category", "licensor", "release_date", "url", "aliases", "spdx",
     "osi_approved", "headline", "terms", "full_terms"}
)
TERM_KEYS = frozenset({"kind", "clause", "summary", "params"})
# Prefixes tools put in front of a key ("LicenseRef-scancode-llama-2-license-2023").
STRIP_PREFIXES = ("licenseref-scancode-", "licenseref-")
LIST_HINT = "run `aperto license list` (or call aperto.licenses.kb.ids()) to see the known ids"


@dataclass(frozen=True)
class _Catalogue:
    licenses: tuple[License, ...]
    index: dict[str, License]           # lower-cased id and aliases -> licence


def _bad(path: Path, message: str) -> InvalidData:
    return InvalidData(f"{path.name}: {message}", hint=f"fix the licence data file {path}", file=str(path))


def _strings(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not builtins.all(isinstance(v, str) and v.strip() for v in value):
        raise _bad(path, f"{where} must be a list of non-empty strings")
    return tuple(value)


def _term(path: Path, lid: str, n: int, raw: Any) -> Term:
    where = f"{lid} term {n + 1}"
    if not isinstance(raw, dict):
        raise _bad(path, f"{where} is not a table")
    extra = set(raw) - TERM_KEYS
    if extra:
        raise _bad(path, f"{where} has unknown keys {sorted(extra)}")
    try:
        kind = Kind(str(raw.get("kind")))
    except ValueError:
        raise _bad(path, f"{where} has unknown kind {raw.get('kind')!r}; known: {[k.value for k in Kind]}") from None
    clause, summary = raw.get("clause"), raw.get("summary")
    if not isinstance(clause, str) or not clause.strip():
        raise _bad(path, f"{where} ({kind.value}) has no clause")
    if not isinstance(summary, str) or not summary.strip():
        raise _bad(path, f"{where} ({kind.value}) has no summary")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise _bad(path, f"{where} params must be a table")
    return Term(kind=kind, clause=clause.strip(), summary=summary.strip(), params=params)


def _license(path: Path, raw: dict[str, Any]) -> License:
    missing = [k for k in REQUIRED if not isinstance(raw.get(k), str) or not raw[k].strip()]
    if missing:
        raise _bad(path, f"licence {raw.get('id', '?')!r} lacks {missing}")
    if not isinstance(raw.get("version"), str):
        raise _bad(path, f"licence {raw['id']!r} lacks a version string (use \"\" when it has none)")
    lid = raw["id"].strip()
    extra = set(raw) - LICENSE_KEYS
    if extra:
        raise _bad(path, f"{lid} has unknown keys {sorted(extra)}")
    try:
        category = Category(raw["category"])
    except ValueError:
        raise _bad(path, f"{lid} has unknown category {raw['category']!r}; "
                         f"known: {[c.value for c in Category]}") from None
    terms_raw = raw.get("terms", [])
    if not isinstance(terms_raw, list):
        raise _bad(path, f"{lid} terms must be an array of tables ([[terms]])")
    terms = tuple(_term(path, lid, n, t) for n, t in enumerate(terms_raw))
    full = raw.get("full_terms", False)
    if not isinstance(full, bool) or not isinstance(raw.get("osi_approved", False), bool):
        raise _bad(path, f"{lid} full_terms and osi_approved must be true or false")
    if full and not terms:
        raise _bad(path, f"{lid} says full_terms = true but has no terms")
    for key in ("licensor", "release_date", "url"):
        if not isinstance(raw.get(key, ""), str):
            raise _bad(path, f"{lid} {key} must be a string")
    spdx = raw.get("spdx")
    if spdx is not None and not isinstance(spdx, str):
        raise _bad(path, f"{lid} spdx must be a string")
    return License(
        id=lid,
        name=raw["name"].strip(),
        version=raw["version"].strip(),
        category=category,
        licensor=raw.get("licensor", ""),
        release_date=raw.get("release_date", ""),
        url=raw.get("url", ""),
        aliases=_strings(path, f"{lid} aliases", raw.get("aliases", [])),
        spdx=spdx,
        osi_approved=raw.get("osi_approved", False),
        headline=_strings(path, f"{lid} headline", raw.get("headline", [])),
        terms=terms,
        full_terms=full,
    )


def load_file(path: Path) -> list[License]:
    """Read and validate one data file; raises InvalidData naming the file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _bad(path, f"cannot be read as TOML: {exc}") from None
    if "license" in raw:
        entries = raw["license"]
        if set(raw) != {"license"} or not isinstance(entries, list):
            raise _bad(path, "a file with [[license]] entries may hold nothing else")
        return [_license(path, e) for e in entries]
    return [_license(path, raw)]


def load_dir(directory: Path) -> list[License]:
    """Every licence in a directory of data files, checked for clashing ids and aliases."""
    seen: dict[str, str] = {}
    out: list[License] = []
    for path in sorted(directory.glob("*.toml")):
        for lic in load_file(path):
            for k in {key.lower() for key in (lic.id, *lic.aliases)}:
                if k in seen and seen[k] != lic.id:
                    raise _bad(path, f"{k!r} of {lic.id} is already taken by {seen[k]}")
                seen[k] = lic.id
            out.append(lic)
    ids = [lic.id for lic in out]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InvalidData(f"licence ids defined twice: {dupes}", hint=f"check {directory}")
    return out


@functools.cache
def _catalogue() -> _Catalogue:
    licenses = tuple(load_dir(DATA_DIR))
    index: dict[str, License] = {}
    for lic in licenses:
        for key in (lic.id, *lic.aliases):
            index[key.lower()] = lic
    return _Catalogue(licenses, index)


def _normalise(key: str) -> str:
    return key.strip().lower()


def find(id_or_alias: str) -> License | None:
    """The licence for an id or alias (case-insensitive), or None."""
    index = _catalogue().index
    key = _normalise(id_or_alias)
    if key in index:
        return index[key]
    for prefix in STRIP_PREFIXES:
        if key.startswith(prefix) and key[len(prefix):] in index:
            return index[key[len(prefix):]]
    return None


def get(id_or_alias: str) -> License:
    """The licence for an id or alias (case-insensitive); raises UnknownLicense."""
    lic = find(id_or_alias) if isinstance(id_or_alias, str) else None
    if lic is None:
        raise UnknownLicense(f"unknown licence {id_or_alias!r}", hint=LIST_HINT, license=str(id_or_alias))
    return lic


def all() -> list[License]:  # noqa: A001 - the contract names it kb.all()
    """Every licence, in a stable order (by id)."""
    return sorted(_catalogue().licenses, key=lambda lic: lic.id)


def ids() -> list[str]:
    return [lic.id for lic in all()]
