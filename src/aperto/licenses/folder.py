"""A model folder: every LICENSE-like text, the model card and the GGUF files, at once.

When they disagree the folder is a conflict, and one source governs: the full
licence text (a LICENSE file, or the licence quoted in the card) governs over
metadata (the card's ``license:`` label, GGUF ``general.license``), because the
text is the terms that ship with the weights while a label is what someone
typed; a base model's licence governs over a derivative's label.
"""

from __future__ import annotations

import re
from pathlib import Path

from aperto.licenses.identify import (
    ALTERED,
    CONFLICT,
    IDENTIFIED,
    UNKNOWN,
    Identification,
    identify_card,
    identify_gguf,
    identify_text,
    is_card,
    read_text_file,
)

LICENSE_NAMES = re.compile(r"^(licen[cs]e|copying|notice|use[_-]?policy|acceptable[_-]use|terms)", re.I)
MAX_GGUF = 8   # a folder of split or alternative quants: enough to see what they declare
# higher is stronger: what governs when sources disagree
RANK = {"license-text": 4, "base-model": 3, "model-card": 2, "declaration": 2, "gguf": 1}


def _candidates(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    texts = [p for p in files if LICENSE_NAMES.match(p.name) or "licen" in p.name.lower()]
    cards = [p for p in files if p.name.lower() == "readme.md"]
    ggufs = [p for p in files if p.suffix.lower() == ".gguf"][:MAX_GGUF]
    return texts + cards + ggufs


def _flatten(found: Identification) -> list[Identification]:
    """A card's own parts (declared, quoted licence, base model) count as separate sources."""
    return found.sources if found.kind == "model-card" and found.sources else [found]


def identify_folder(folder: Path) -> Identification:
    result = Identification(None, source=str(folder), kind="folder")
    sources: list[Identification] = []
    for path in _candidates(folder):
        if path.suffix.lower() == ".gguf":
            found = identify_gguf(path)
        else:
            text = read_text_file(path)
            if path.name.lower() == "readme.md" and is_card(text):
                found = identify_card(text, source=path.name)
            else:
                found = identify_text(text, source=path.name)
                if found.status == UNKNOWN and path.name.lower() == "readme.md":
                    continue  # a README without front matter that is not a licence says nothing
        sources.extend(_flatten(found))
    result.sources = sources
    if not sources:
        result.notes.append("no LICENSE, README.md model card or .gguf file found in the folder")
        return result

    named = [s for s in sources if s.id and s.status in (IDENTIFIED, ALTERED, CONFLICT)]
    if not named:
        result.notes.append("no source names a licence")
        return result
    # licence documents before acceptable-use policies, then by rank and confidence
    best = max(named, key=lambda s: (RANK.get(s.kind, 0), s.document == "license", s.confidence))
    result.id, result.version, result.document = best.id, best.version, best.document
    result.confidence, result.status = best.confidence, best.status
    result.evidence = list(best.evidence)
    result.differences = list(best.differences)
    result.governing = best.source
    result.notes.extend(best.notes)
    ids = {s.id for s in named}
    if len(ids) > 1:
        result.status = CONFLICT
        others = ", ".join(f"{s.source} says {s.id}" for s in named if s.id != best.id)
        why = {
            "license-text": "the full licence text governs over metadata labels",
            "base-model": "a derivative cannot relicense its base model's weights",
        }.get(best.kind, "no licence text was found, so the strongest declaration is reported")
        result.notes.append(f"sources disagree: {others}; {best.source} ({best.id}) governs: {why}")
    return result
