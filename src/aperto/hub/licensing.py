"""The hub's one door to the licence core and the policy engine.

They are imported lazily so the hub works (conservatively) while those
packages are absent or broken: an unknown licence is never treated as open,
and without the policy engine every request goes to the licensor (fail closed).
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import tempfile
from pathlib import Path
from typing import Any

# When the licence knowledge base is missing we still know these are open source.
FALLBACK_OPEN = {"apache-2.0", "mit", "bsd-3-clause", "bsd-2-clause", "mpl-2.0", "gpl-3.0", "lgpl-3.0",
                 "openrail", "cc-by-4.0", "unlicense"}
CANDIDATES = re.compile(r"(^|/)(licen[cs]e[^/]*|copying[^/]*|readme\.md|use_policy[^/]*|notice[^/]*|[^/]+\.gguf)$",
                        re.IGNORECASE)


def _module(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def licence_candidates(paths: list[str]) -> list[str]:
    """The committed files the licence is read from."""
    return [p for p in paths if CANDIDATES.search(p)]


def _card_license(text: str) -> str | None:
    match = re.match(r"^---\s*\n(.*?)\n---", text, re.DOTALL)
    if not match:
        return None
    found = re.search(r"^license:\s*['\"]?([A-Za-z0-9.\-_]+)", match.group(1), re.MULTILINE)
    return found.group(1).lower() if found else None


def identify(files: dict[str, Path]) -> tuple[str | None, dict[str, Any]]:
    """Identify the licence of a commit from its LICENSE / README / GGUF files
    (``files`` maps repo path -> blob path). Returns (licence id, identification dict)."""
    ident = _module("aperto.licenses.identify")
    if ident is not None and files:
        with tempfile.TemporaryDirectory(prefix="aperto-ident-") as tmp:
            for repo_path, blob in files.items():
                link = Path(tmp) / repo_path
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(blob)
            try:
                result = ident.identify_path(Path(tmp))
                data = result.to_dict()
                status = str(getattr(result, "status", data.get("status")))
                # a conflict still names the governing licence; an unknown text names none, and an
                # altered copy must never be treated as the licence it imitates (fail closed)
                named = status not in ("unknown", "altered")
                return (getattr(result, "id", None) or None) if named else None, data
            except Exception as exc:  # the hub must still accept the commit
                return None, {"status": "unknown", "error": f"identification failed: {exc}"}
    for repo_path, blob in files.items():
        if repo_path.lower().endswith("readme.md"):
            lic = _card_license(Path(blob).read_text(errors="replace")[:20000])
            if lic:
                return lic, {"id": lic, "status": "identified", "confidence": 0.5,
                             "evidence": [{"source": repo_path, "why": "model card license: field"}],
                             "note": "licence identifier not available; read from the model card only"}
    return None, {"id": None, "status": "unknown"}


def verdict(license_id: str | None) -> dict[str, Any]:
    """The OSD verdict as a dict with at least ``category``."""
    if not license_id:
        return {"category": "unknown", "note": "no licence identified"}
    kb = _module("aperto.licenses.kb")
    ver = _module("aperto.licenses.verdict")
    if kb is not None:
        try:
            lic = kb.get(license_id)
        except Exception:
            lic = None
        if lic is not None:
            if ver is not None:
                try:
                    return ver.osd(lic).to_dict()
                except Exception as exc:
                    return {"category": str(lic.category), "note": f"verdict failed: {exc}"}
            return {"category": str(lic.category), "note": "category from the knowledge base"}
    if license_id in FALLBACK_OPEN:
        return {"category": "open-source", "note": "fallback table"}
    return {"category": "unknown", "note": f"licence {license_id!r} is not in the knowledge base"}


def license_summary(license_id: str | None) -> dict[str, Any] | None:
    """Name, category and clauses for the model page (our words, from the knowledge base)."""
    kb = _module("aperto.licenses.kb")
    if not license_id or kb is None:
        return None
    try:
        lic = kb.get(license_id)
    except Exception:
        return None
    return {
        "id": lic.id, "name": lic.name, "version": getattr(lic, "version", ""),
        "category": str(lic.category), "url": getattr(lic, "url", ""),
        "headline": list(getattr(lic, "headline", ())),
        "terms": [{"kind": str(t.kind), "clause": t.clause, "summary": t.summary} for t in getattr(lic, "terms", ())],
    }


PROFILE_FIELDS = ("mau", "affiliates_mau", "use", "country", "train_other_models", "redistribute",
                  "publish_finetune", "derivative_name", "multimodal", "accepts_aup", "hosted_service",
                  "annual_revenue_usd")


def evaluate(license_id: str | None, fields: dict[str, Any]) -> dict[str, Any]:
    """policy.evaluate(licence, Profile(...)).to_dict(), or a fail-closed stand-in."""
    policy = _module("aperto.policy")
    if policy is None or not hasattr(policy, "evaluate") or not license_id:
        why = "no licence identified" if not license_id else "the policy engine is not available"
        return {"outcome": "needs_licensor_grant", "obligations": [],
                "reasons": [{"clause": "", "text": f"{why}; the licensor decides"}]}
    profile_cls = getattr(policy, "Profile", None)
    kwargs = {k: fields[k] for k in PROFILE_FIELDS if k in fields and fields[k] is not None}
    if profile_cls is not None and dataclasses.is_dataclass(profile_cls):
        known = {f.name for f in dataclasses.fields(profile_cls)}
        kwargs = {k: v for k, v in kwargs.items() if k in known}
    try:
        decision = policy.evaluate(license_id, profile_cls(**kwargs) if profile_cls else kwargs)
        return decision.to_dict()
    except Exception as exc:
        return {"outcome": "needs_licensor_grant", "obligations": [],
                "reasons": [{"clause": "", "text": f"automatic evaluation failed ({exc}); the licensor decides"}]}


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
