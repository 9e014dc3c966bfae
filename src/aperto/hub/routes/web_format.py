"""How figures and ids read on the pages: file sizes, score intervals, policy names, the
profile a form declares, and the model page's OSAID summary."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from aperto.errors import BadInput
from aperto.hub.i18n import N_
from aperto.policy.profile import normalise_country, parse_count

# policy ids as licences cite them (e.g. "Comply with llama2-aup") and the names people know
POLICY_NAMES = {
    "llama2-aup": "the Llama 2 Acceptable Use Policy",
    "llama3-aup": "the Meta Llama 3 Acceptable Use Policy",
    "llama3.1-aup": "the Llama 3.1 Acceptable Use Policy",
    "llama3.2-aup": "the Llama 3.2 Acceptable Use Policy",
    "llama3.3-aup": "the Llama 3.3 Acceptable Use Policy",
    "llama4-aup": "the Llama 4 Acceptable Use Policy",
    "gemma-prohibited-use-policy": "the Gemma Prohibited Use Policy",
    "tii-falcon-180b-aup": "the Falcon 180B Acceptable Use Policy",
    "attachment-a": "the use restrictions of Attachment A",
    "applicable-law-and-export-control": "applicable law and export controls",
}
_POLICY_RE = re.compile("|".join(re.escape(k) for k in sorted(POLICY_NAMES, key=len, reverse=True)))
# words the pages show from data (request statuses and steps), for the catalogue
SHOWN_WORDS = (N_("pending"), N_("accepted"), N_("rejected"), N_("submission"), N_("decision"))
# a licence clause's kind, an OSD criterion's result and the ten OSD criteria, as the pages name them
KIND_LABELS = {
    "grant": N_("grant"), "attribution": N_("attribution"), "notice": N_("notice"),
    "user-threshold": N_("user threshold"), "revenue-threshold": N_("revenue threshold"),
    "output-use": N_("use of outputs"), "naming": N_("naming"), "acceptable-use": N_("acceptable use"),
    "field-of-use": N_("field of use"), "geography": N_("geography"), "non-commercial": N_("non-commercial"),
    "research-only": N_("research only"), "non-production": N_("non-production"), "hosting": N_("hosting"),
    "pass-through": N_("pass-through"), "remote-restriction": N_("remote restriction"),
    "mark-modifications": N_("marking modifications"), "trademark": N_("trademark"),
    "patent-termination": N_("patent termination"), "termination": N_("termination"),
    "governing-law": N_("governing law"), "warranty": N_("warranty"),
}
RESULT_LABELS = {"pass": N_("pass"), "fail": N_("fail"), "not-applicable": N_("not applicable"),
                 "unknown": N_("unknown")}
OSD_NAMES = {
    1: N_("Free redistribution"), 2: N_("Source code"), 3: N_("Derived works"),
    4: N_("Integrity of the author's source code"), 5: N_("No discrimination against persons or groups"),
    6: N_("No discrimination against fields of endeavour"), 7: N_("Distribution of licence"),
    8: N_("Licence must not be specific to a product"), 9: N_("Licence must not restrict other software"),
    10: N_("Licence must be technology-neutral"),
}
COUNT_ERROR = N_("“%(value)s” is not a number of users: write it as 800000000, 800M, 50K or 0")
COUNTRY_ERROR = N_("“%(value)s” is not a country code: use the two-letter ISO code, such as IT, DE, FR or US, or leave it empty")  # noqa: E501
# the profile's yes/no fields, as the CLI's `aperto check` flags
FLAGS = ("train_other_models", "redistribute", "publish_finetune", "multimodal", "hosted_service", "accepts_aup")


def filesize(value: Any) -> str:
    """1536 -> "1.5 KB" (decimal units, as Hugging Face shows them)."""
    size = float(value or 0)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def readable(text: Any) -> str:
    """Policy ids in decision texts replaced by the policies' names."""
    return _POLICY_RE.sub(lambda m: POLICY_NAMES[m.group(0)], str(text or ""))


def wilson(successes: float, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval: unlike the normal one it is not 0–0 for 0 of 5 (it is 0–43%)."""
    if trials <= 0:
        return (0.0, 1.0)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def score_interval(row: dict[str, Any]) -> tuple[float, float] | None:
    """pass@1 over its problems: the Wilson interval of the passes, in percent."""
    trials = int(row.get("samples") or 0) // max(int(row.get("n") or 1), 1)  # problems, not completions
    if trials <= 0 or row.get("metric") != "pass@1":
        ci = row.get("ci95")
        return (ci[0] * 100, ci[1] * 100) if ci else None
    low, high = wilson(row["percent"] / 100 * trials, trials)
    return (low * 100, high * 100)


def profile_form(form: dict[str, Any], _: Callable[..., str] = lambda m, **v: m % v if v else m
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """The web form's profile, with counts such as "800M" read as the CLI reads them.
    Returns the fields for clean_attestation and the field errors (field -> message, in `_`'s language)."""
    fields: dict[str, Any] = {k: v for k, v in form.items() if k != "csrf"}
    errors: dict[str, str] = {}
    for name in ("mau", "affiliates_mau"):
        try:
            fields[name] = parse_count(str(form.get(name) or "0"), name)
        except BadInput:
            errors[name] = _(COUNT_ERROR, value=str(form.get(name))[:40])
    try:
        fields["country"] = normalise_country(str(form.get("country") or "")) or ""
    except BadInput:
        errors["country"] = _(COUNTRY_ERROR, value=str(form.get("country"))[:40])
    if str(form.get("use") or "commercial") not in ("commercial", "internal", "research", "evaluation"):
        errors["use"] = _("Choose a use from the list.")
    return fields, errors


def osaid_summary(repo_id: str, license_id: str | None) -> dict[str, Any] | None:
    """The Open Source AI Definition check from the catalogue's release facts, if both are known."""
    if not license_id:
        return None
    try:
        from aperto import catalog
        from aperto.licenses import verdict

        facts = catalog.find(repo_id)
        if facts is None:
            return None
        return verdict.osaid(license_id, catalog.released(facts)).to_dict()
    except Exception:  # an unknown licence or no catalogue: the page shows the OSD table alone
        return None
