"""The hub's one door to the licence core and the policy engine.

It fails closed: an unknown or altered licence is never treated as open, and a
request the policy engine cannot decide goes to the licensor.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from aperto.errors import ApertoError
from aperto.hub.i18n import N_
from aperto.licenses import kb
from aperto.licenses import verdict as osd_verdict
from aperto.licenses.identify import identify_path
from aperto.policy import Profile
from aperto.policy import evaluate as policy_evaluate
from aperto.policy.messages import Phrase, values_to_json

CANDIDATES = re.compile(r"(^|/)(licen[cs]e[^/]*|copying[^/]*|readme\.md|use_policy[^/]*|notice[^/]*|[^/]+\.gguf)$",
                        re.IGNORECASE)


def licence_candidates(paths: list[str]) -> list[str]:
    """The committed files the licence is read from."""
    return [p for p in paths if CANDIDATES.search(p)]


LICENCE_TEXT = re.compile(r"^(licen[cs]e|copying)(\.[a-z]+)?$", re.IGNORECASE)


def is_licence_text(path: str) -> bool:
    """The repo's own licence document (top level), whose hash an acceptance records."""
    return bool(LICENCE_TEXT.match(path))


def identify(files: dict[str, Path]) -> tuple[str | None, dict[str, Any]]:
    """Identify the licence of a commit from its LICENSE / README / GGUF files
    (``files`` maps repo path -> blob path). Returns (licence id, identification dict)."""
    if not files:
        return None, {"id": None, "status": "unknown"}
    with tempfile.TemporaryDirectory(prefix="aperto-ident-") as tmp:
        for repo_path, blob in files.items():
            link = Path(tmp) / repo_path
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(blob)
        try:
            result = identify_path(Path(tmp))
        except ApertoError as exc:  # unreadable files: the commit is kept, its licence stays unknown
            return None, {"id": None, "status": "unknown", "error": exc.one_line()}
    data = result.to_dict()
    # a conflict still names the governing licence; an unknown text names none, and an
    # altered copy must never be treated as the licence it imitates (fail closed)
    named = result.status not in ("unknown", "altered")
    return (result.id or None) if named else None, data


def verdict(license_id: str | None) -> dict[str, Any]:
    """The OSD verdict as a dict with at least ``category``."""
    lic = kb.find(license_id) if license_id else None
    if lic is None:
        note = "no licence identified" if not license_id else f"licence {license_id!r} is not in the knowledge base"
        return {"category": "unknown", "note": note}
    return osd_verdict.osd(lic).to_dict()


def license_summary(license_id: str | None) -> dict[str, Any] | None:
    """Name, category and clauses for the model page (our words, from the knowledge base)."""
    lic = kb.find(license_id) if license_id else None
    if lic is None:
        return None
    return {
        "id": lic.id, "name": lic.name, "version": lic.version, "category": str(lic.category), "url": lic.url,
        "headline": list(lic.headline),
        "terms": [{"kind": str(t.kind), "clause": t.clause, "summary": t.summary} for t in lic.terms],
    }


NO_LICENCE = N_("no licence identified; the licensor decides")  # the pages translate it (routes/web_format.py)
UNKNOWN_LICENCE = N_("licence %(licence)s is not in the knowledge base; the licensor decides")
EVALUATION_FAILED = N_("automatic evaluation failed (%(error)s); the licensor decides")


def template(phrase: Phrase) -> dict[str, Any]:
    """A sentence's template and values, stored beside its English text so that a page says it in its
    own language from them (routes/web_format.py), whatever the wording is by then."""
    return {"msgid": phrase.msgid, "values": values_to_json(phrase.values)}


def evaluate(license_id: str | None, profile: Profile) -> dict[str, Any]:
    """policy.evaluate(licence, profile).to_dict(), each reason and obligation with its template;
    without a known licence the licensor decides."""
    if not license_id or kb.find(license_id) is None:
        said = Phrase(NO_LICENCE) if not license_id else Phrase(UNKNOWN_LICENCE, {"licence": repr(license_id)})
        return _undecided(said)
    try:
        decision = policy_evaluate(license_id, profile)
    except ApertoError as exc:  # a licence the engine cannot decide on: fail closed
        return _undecided(Phrase(EVALUATION_FAILED, {"error": Phrase(exc.one_line())}))
    out = decision.to_dict()
    phrases = [r.phrase for r in decision.reasons] + [o.phrase for o in decision.obligations]
    for item, phrase in zip([*out["reasons"], *out["obligations"]], phrases, strict=True):
        item.update(template(phrase))
    return out


def _undecided(said: Phrase) -> dict[str, Any]:
    return {"outcome": "needs_licensor_grant", "obligations": [],
            "reasons": [{"clause": "", "text": said.text, **template(said)}]}


def first_reason(decision: dict[str, Any]) -> str:
    reasons = decision.get("reasons") or []
    parts = []
    for r in reasons[:3]:
        if isinstance(r, dict):
            clause = r.get("clause") or ""
            parts.append(f"{clause}: {r.get('text', '')}" if clause else str(r.get("text", "")))
        else:
            parts.append(str(r))
    return "; ".join(parts)
