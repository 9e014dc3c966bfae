"""A model card's lineage: its base models (with their relation), whether its licence may differ
from theirs, and licences it names in its prose.

Bases are resolved through the catalogue (``aperto.catalog``, exact repository ids, following a
chain of bases where the catalogue knows one) and then through name patterns in
``data/registry/relicensing.toml``, which also holds the relicensing table.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aperto.licenses import kb
from aperto.licenses.normalize import tokenize

DATA_FILE = Path(__file__).resolve().parent / "data" / "registry" / "relicensing.toml"
RELATIONS = ("finetune", "merge", "quantized", "adapter")
MAX_CHAIN = 8            # bases followed through the catalogue, at most
MIN_NAME = 10            # characters of a licence name before it is looked for in prose


@dataclass(frozen=True)
class Base:
    name: str            # the base model as the card names it
    license: str | None  # its licence id, when known
    relation: str        # finetune | merge | quantized | adapter | unknown
    how: str             # catalogue | catalogue chain (...) | name pattern | title


@functools.cache
def _data() -> dict[str, Any]:
    return tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))


@functools.cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(n["pattern"]), n["license"]) for n in _data()["names"])


def rule(license_id: str) -> tuple[str, bool, str]:
    """(kind, may a derivative be relicensed, why) for a base under `license_id`."""
    data = _data()
    kind = next((k for k, pats in data["licenses"].items() if any(fnmatch.fnmatch(license_id, p) for p in pats)),
                data["default"])
    r = data["rules"][kind]
    return kind, bool(r["relicense"]), str(r["why"])


def _catalogue_licence(name: str) -> tuple[str | None, str]:
    """The licence that governs a catalogued model: its own, or, where it was made from another
    catalogued model whose licence passes its terms on, that base's (followed down the chain)."""
    try:
        from aperto import catalog
    except ImportError:      # the catalogue is optional here: name patterns still work
        return None, ""
    chain: list[Any] = []
    model = catalog.find(name)
    while model is not None and model.id not in [m.id for m in chain] and len(chain) < MAX_CHAIN:
        chain.append(model)
        model = catalog.find(model.base) if model.base else None
    if not chain:
        return None, ""
    inherited = [m for m in chain[1:] if not rule(m.license)[1]]
    if inherited:
        root = inherited[-1]
        return root.license, f"catalogue chain ({' -> '.join(m.id for m in chain[:chain.index(root) + 1])})"
    return chain[0].license, "catalogue"


def licence_of(name: str) -> tuple[str | None, str]:
    """The licence of a base model named `name`, and how it was found."""
    lid, how = _catalogue_licence(name)
    if lid:
        return lid, how
    for pattern, lid in _patterns():
        if pattern.search(name):
            return lid, "name pattern"
    return None, ""


def _relation(front: dict[str, Any]) -> str:
    rel = front.get("base_model_relation")
    if isinstance(rel, str) and rel.strip().lower() in RELATIONS:
        return rel.strip().lower()
    tags = front.get("tags")
    for tag in tags if isinstance(tags, list) else []:
        parts = str(tag).split(":")
        if len(parts) >= 3 and parts[0] == "base_model" and parts[1] in RELATIONS:
            return parts[1]
    return "unknown"


def bases(front: dict[str, Any], title: str = "") -> list[Base]:
    """The card's base models (``base_model``, a string or a list), or the one its title names."""
    raw = front.get("base_model")
    names = [raw] if isinstance(raw, str) else [b for b in raw if isinstance(b, str)] if isinstance(raw, list) else []
    relation = _relation(front)
    out = []
    for name in (n.strip() for n in names if n.strip()):
        lid, how = licence_of(name)
        out.append(Base(name, lid, relation, how))
    if not out and title:
        lid, how = licence_of(title)
        if lid:
            out.append(Base(title.strip(), lid, relation, "title"))
    return out


@functools.cache
def _names() -> tuple[tuple[str, str], ...]:
    """(squeezed licence name, id): names long enough not to occur by chance, longest first."""
    out = []
    for lic in kb.all():
        for name in {lic.name, *(a for a in lic.aliases if " " in a)}:
            key = "".join(tokenize(name).words)
            if len(key) >= MIN_NAME:
                out.append((key, lic.id))
    return tuple(sorted(out, key=lambda kv: -len(kv[0])))


def named_in_prose(body: str) -> list[tuple[str, int, int]]:
    """Licences the card's text names ("StabilityAI Non-Commercial Research Community License"):
    (id, start, end) in `body`, in order, each id once. Case, spacing and punctuation are ignored."""
    tokens = tokenize(body)
    squeezed = ""
    owner: list[int] = []          # token index of each character of `squeezed`
    for k, w in enumerate(tokens.words):
        squeezed += w
        owner.extend([k] * len(w))
    found: dict[str, tuple[int, int]] = {}
    taken: list[tuple[int, int]] = []
    for key, lid in _names():
        at = squeezed.find(key)
        while at >= 0 and lid not in found:
            span = (at, at + len(key))
            if not any(a < span[1] and span[0] < b for a, b in taken):
                taken.append(span)
                found[lid] = (tokens.starts[owner[span[0]]], tokens.ends[owner[span[1] - 1]])
            at = squeezed.find(key, at + 1)
    return sorted(((lid, s, e) for lid, (s, e) in found.items()), key=lambda t: t[1])
