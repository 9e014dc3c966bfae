"""Model cards (README.md with YAML front matter) and licence declarations.

A declaration (a card's ``license:``/``license_name``, a GGUF's
``general.license``) is a label someone typed; a licence text is the terms.
So a card that embeds the full licence (``extra_gated_prompt``) is checked
against its own label, and a card whose base model carries a different
licence is reported as a conflict: a derivative cannot relicense its base.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml

from aperto.errors import BadInput
from aperto.licenses import lineage
from aperto.licenses.identify import (
    ALTERED,
    CONFLICT,
    IDENTIFIED,
    UNKNOWN,
    Evidence,
    Identification,
    identify_text,
)

# license_name values seen in real cards -> our ids (HF ids where they exist)
ALIASES = {
    "llama-2": "llama2", "llama2": "llama2", "llama-2-community-license": "llama2",
    "llama-3": "llama3", "llama3": "llama3", "llama-3.1": "llama3.1", "llama-3.2": "llama3.2",
    "llama-3.3": "llama3.3", "llama-4": "llama4",
    "mrl": "mistral-mrl-0.1", "mistral-research-license": "mistral-mrl-0.1", "mnpl": "mistral-mnpl-0.1",
    "deepseek-license": "deepseek", "deepseek": "deepseek",
    "gemma-terms-of-use": "gemma", "falcon-llm-license": "tii-falcon-llm-license",
    "apache 2.0": "apache-2.0", "apache-2": "apache-2.0", "apache2": "apache-2.0",
}
_FRONT = re.compile(r"\A\ufeff?(?:[ \t]*\r?\n)*---[ \t]*\r?\n(.*?)(?:\r?\n)---[ \t]*(?:\r?\n|\Z)", re.S)
_H1 = re.compile(r"^#[ \t]+(.+)$", re.M)


@functools.cache
def known_ids() -> frozenset[str]:
    from aperto.licenses import fingerprints

    ids = {s.family for s in fingerprints.load().signatures}
    try:
        from aperto.licenses import kb

        ids |= {lic.id for lic in kb.all()}
    except Exception:  # the knowledge base is optional here: ids from fingerprints suffice
        pass
    return frozenset(ids)


def normalise_id(value: str) -> str:
    v = value.strip().lower()
    if v in ALIASES:
        return ALIASES[v]
    if v in known_ids():
        return v
    try:
        from aperto.licenses import kb

        return kb.get(v).id
    except Exception:  # unknown to the knowledge base (or it is absent): keep the declared id
        return v


def declaration(value: Any, name: Any = None, link: Any = None, source: str = "", kind: str = "model-card",
                spans: list[Any] | None = None, evidence: list[Evidence] | None = None) -> Identification:
    """One source's declared licence, as an Identification of kind `kind`."""
    result = Identification(None, source=source, kind=kind, evidence=list(evidence or []))
    for key, v in spans or []:  # GGUF values: byte offsets into the file
        result.evidence.append(Evidence(source, v.offset, v.offset + v.length, str(v.value), f"GGUF metadata {key}"))
    values = [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
    if not values:
        result.notes.append("no licence declared")
        return result
    declared = [normalise_id(v) for v in values]
    if declared[0] == "other" and isinstance(name, str) and name.strip():
        declared = [normalise_id(name)]
    if len(set(declared)) > 1:
        result.status = CONFLICT
        result.notes.append(f"declares several licences: {', '.join(declared)}")
    lid = declared[0]
    if lid == "other":
        result.notes.append("declares 'other' without a license_name: the licence is not named")
        return result
    result.id = lid
    result.status = IDENTIFIED if result.status != CONFLICT else CONFLICT
    result.confidence = 0.7 if lid in known_ids() else 0.5
    if lid not in known_ids():
        result.notes.append(f"{lid} is not in aperto's knowledge base")
    if isinstance(link, str) and link.strip():
        result.notes.append(f"licence link: {link.strip()}")
    return result


def parse_front_matter(text: str, source: str) -> tuple[dict[str, Any], int]:
    """The card's YAML front matter and the offset where it starts."""
    m = _FRONT.match(text)
    if not m:
        raise BadInput(f"the YAML front matter of {source} is not closed by a '---' line",
                       hint="end the metadata block with a line holding only ---")
    try:
        data = yaml.safe_load(m.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise BadInput(f"invalid YAML front matter in {source}{where}: {problem}",
                       hint="fix the YAML between the --- lines") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadInput(f"the YAML front matter of {source} is not a mapping of keys",
                       hint="write it as key: value lines between the --- lines")
    return data, m.start(1)


def _key_evidence(text: str, start: int, key: str, source: str) -> list[Evidence]:
    m = re.compile(rf"^{re.escape(key)}:[ \t]*(.*?)\r?$", re.M).search(text, start)
    if not m:
        return []
    return [Evidence(source, m.start(), m.end(), m.group(0), f"model card declares {key}")]


def _title(text: str, body_start: int) -> str:
    h1 = _H1.search(text, body_start)
    return h1.group(1) if h1 else ""


def identify_card(text: str, source: str = "README.md") -> Identification:
    front, start = parse_front_matter(text, source)
    lic = front.get("license")
    if lic is None:      # the Hub's tags carry the licence of cards without a license key ("license:apache-2.0")
        tags = front.get("tags")
        lic = next((t.split(":", 1)[1] for t in tags if isinstance(t, str) and t.startswith("license:")), None) \
            if isinstance(tags, list) else None
    decl = declaration(lic, front.get("license_name"), front.get("license_link"), source=source,
                       evidence=_key_evidence(text, start, "license", source)
                       + (_key_evidence(text, start, "license_name", source) if front.get("license_name") else []))
    result = Identification(decl.id, status=decl.status, confidence=decl.confidence, source=source,
                            kind="model-card", evidence=list(decl.evidence), notes=list(decl.notes))
    result.sources.append(decl)
    decl.source = f"{source} (declared)"

    quoted = identify_text(text, source=source)
    embedded: Identification | None = None
    # a card that quotes a few lines of a licence is not carrying the licence
    if quoted.status == IDENTIFIED or (quoted.status == ALTERED and quoted.confidence >= 0.65):
        embedded = quoted
        embedded.kind = "license-text"
        embedded.source = f"{source} (licence text in the card)"
        result.sources.append(embedded)

    body_start = max(text.find("\n", start + 1), 0)
    # no base_model: the card's title often names the base ("... Llama2 Model")
    # the repo name is a hint too: a card file named after its repository ("L3-8B-Stheno...")
    hints = [h for h in (_title(text, body_start), str(front.get("model_name") or ""),
                         "" if source.lower().startswith("readme") else source) if h]
    base = next((b for h in hints or [""] for b in lineage.bases(front, h) if b.license), None)
    base_id, base_where = (base.license, f"{'base_model' if base.how != 'title' else 'title'} {base.name}") \
        if base else (None, "")
    if base:
        result.sources.append(Identification(base_id, status=IDENTIFIED, confidence=0.6, source=base_where,
                                              kind="base-model",
                                              notes=[f"relation: {base.relation}", f"licence found by {base.how}"]))
    prose = [p for p in lineage.named_in_prose(text[body_start:]) if p[0] != decl.id]
    for lid, s0, s1 in prose[:3]:
        result.sources.append(Identification(lid, status=IDENTIFIED, confidence=0.4, source=f"{source} (prose)",
                                              kind="prose", evidence=[Evidence(source, body_start + s0, body_start + s1,
                                                                               text[body_start + s0:body_start + s1],
                                                                               "the card's text names this licence")]))

    if embedded is not None:
        if decl.id is None or decl.id == embedded.id:
            result.id, result.version, result.document = embedded.id, embedded.version, embedded.document
            result.status, result.confidence = embedded.status, embedded.confidence
            result.evidence = decl.evidence + embedded.evidence
            result.differences = embedded.differences
            result.governing = embedded.source
            if decl.id is None:
                result.notes.append("the card declares no licence, but its text holds the licence")
        else:
            result.status, result.governing, result.id = CONFLICT, embedded.source, embedded.id
            result.version = embedded.version
            result.notes.append(f"the card declares {decl.id} but the licence text in it is {embedded.id}; "
                                "the full text governs over the label")
    elif base_id and decl.id and base_id != decl.id:
        kind, relicense, why = lineage.rule(base_id)
        if relicense or decl.id not in known_ids():
            result.notes.append(f"{base_where} is under {base_id}, which {why}")
        else:
            result.status, result.governing, result.id = CONFLICT, base_where, base_id
            result.notes.append(f"the card declares {decl.id} but {base_where} is under {base_id}, which {why}: "
                                "the base licence governs")
    elif decl.id is None and base_id:
        result.id, result.status, result.confidence, result.governing = base_id, IDENTIFIED, 0.5, base_where
        result.notes.append(f"no licence declared; {base_where} is under {base_id}, whose terms apply")
    elif decl.id is None and prose:
        result.id, result.status, result.confidence = prose[0][0], IDENTIFIED, 0.5
        result.evidence = result.sources[-len(prose[:3])].evidence
        result.governing = f"{source} (prose)"
        result.notes.append(f"no licence in the metadata; the card's text names {prose[0][0]}")
    if result.governing is None and result.id:
        result.governing = decl.source
    if result.status == UNKNOWN:
        result.id = None
    return result
