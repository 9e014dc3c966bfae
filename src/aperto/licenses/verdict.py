"""Verdicts: a licence against the Open Source Definition, and a release against the Open Source AI Definition 1.0.

``osd(license)`` walks the licence's structured terms and files each restriction
under the OSD criterion it offends, citing the clause. It agrees with OSI's
published position: Llama 2 (and Llama 3.x) fail criteria 5 and 6, permissive
licences pass all ten.

How term kinds map onto the criteria, and why:
- user-threshold, revenue-threshold, geography -> 5 (No Discrimination Against
  Persons or Groups): they take rights away from particular licensees (the
  largest companies, people in the EU) and from no one else.
- acceptable-use, field-of-use, hosting, remote-restriction, non-commercial,
  research-only, non-production, output-use -> 6 (Fields of Endeavor): each one
  bars a kind of use. Output-use (Llama 2 §1.b.v: no improving other LLMs) bars
  one activity, building competing models, so it is a field restriction; it
  does not touch criterion 9, which is about *other software distributed
  alongside* the licensed work. OSI's Llama 2 analysis cites only 5 and 6,
  consistent with this.
- non-commercial, research-only, non-production also fail 1 (Free
  Redistribution): nobody may sell the work, or give it away commercially.
- the grant: no right to distribute fails 1; no right to modify fails 3; weights
  that are not released fail 2 (the closed catch-all).
- naming, attribution, notice, mark-modifications, trademark: conditions the OSD
  tolerates (criterion 4 even allows requiring a different name for derived
  works), so they are noted under 4 and do not fail it.

Licences without full terms (``full_terms = false``) get ``basis="headline"`` and
criteria marked ``unknown``: we say what we do not know rather than invent it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from aperto.licenses import kb
from aperto.licenses.terms import Category, Kind, License, Term

Result = Literal["pass", "fail", "not-applicable", "unknown"]
Basis = Literal["terms", "headline"]

CRITERIA: dict[int, str] = {
    1: "Free Redistribution",
    2: "Source Code",
    3: "Derived Works",
    4: "Integrity of The Author's Source Code",
    5: "No Discrimination Against Persons or Groups",
    6: "No Discrimination Against Fields of Endeavor",
    7: "Distribution of License",
    8: "License Must Not Be Specific to a Product",
    9: "License Must Not Restrict Other Software",
    10: "License Must Be Technology-Neutral",
}

PERSONS_KINDS = (Kind.USER_THRESHOLD, Kind.REVENUE_THRESHOLD, Kind.GEOGRAPHY)
FIELD_KINDS = (Kind.ACCEPTABLE_USE, Kind.FIELD_OF_USE, Kind.HOSTING, Kind.REMOTE_RESTRICTION,
               Kind.NON_COMMERCIAL, Kind.RESEARCH_ONLY, Kind.NON_PRODUCTION, Kind.OUTPUT_USE)
NO_SALE_KINDS = (Kind.NON_COMMERCIAL, Kind.RESEARCH_ONLY, Kind.NON_PRODUCTION)
CONDITION_KINDS = (Kind.NAMING, Kind.ATTRIBUTION, Kind.NOTICE, Kind.MARK_MODIFICATIONS, Kind.TRADEMARK)


@dataclass(frozen=True)
class Finding:
    criterion: int
    name: str
    result: Result
    clauses: tuple[str, ...]
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"criterion": self.criterion, "name": self.name, "result": self.result,
                "clauses": list(self.clauses), "why": self.why}


@dataclass(frozen=True)
class Verdict:
    license_id: str
    license_name: str
    category: Category
    basis: Basis
    findings: tuple[Finding, ...]

    @property
    def failed(self) -> list[int]:
        return [f.criterion for f in self.findings if f.result == "fail"]

    @property
    def open_source(self) -> bool | None:
        """True if every criterion passes, False if any fails, None if we cannot tell."""
        if self.failed:
            return False
        if all(f.result == "pass" for f in self.findings):
            return True
        return None

    def finding(self, criterion: int) -> Finding:
        return next(f for f in self.findings if f.criterion == criterion)

    @property
    def summary(self) -> str:
        if self.failed:
            names = ", ".join(f"{n} ({CRITERIA[n]})" for n in self.failed)
            return f"Not open source: fails OSD {names}."
        if self.open_source:
            return "Meets all ten criteria of the Open Source Definition."
        return (f"Not assessed criterion by criterion (basis: {self.basis}); "
                f"categorised as {self.category.label}.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "license": self.license_id,
            "name": self.license_name,
            "category": self.category.value,
            "category_label": self.category.label,
            "basis": self.basis,
            "open_source": self.open_source,
            "failed": self.failed,
            "summary": self.summary,
            "findings": [f.to_dict() for f in self.findings],
        }


def _refs(terms: list[Term]) -> tuple[str, ...]:
    """Distinct clause references, in the order the terms list them."""
    return tuple(dict.fromkeys(t.clause for t in terms))


def _restricts(term: Term) -> bool:
    """Whether a term in FIELD_KINDS really restricts use (a duty to obey the law does not)."""
    if term.kind == Kind.ACCEPTABLE_USE and term.params.get("law_only"):
        return False
    if term.kind == Kind.OUTPUT_USE:
        return bool(term.params.get("no_improving_other_models") or term.params.get("research_only_outputs"))
    return True


def _finding(n: int, result: Result, terms: list[Term] | tuple[str, ...], why: str) -> Finding:
    clauses = terms if isinstance(terms, tuple) else _refs(terms)
    return Finding(criterion=n, name=CRITERIA[n], result=result, clauses=clauses, why=why)


def _headline_only(lic: License) -> Verdict:
    if lic.osi_approved:
        why = "OSI lists this licence as approved; its terms are not modelled clause by clause."
        findings = tuple(_finding(n, "pass", (), why) for n in CRITERIA)
    else:
        why = (f"Only the headline of this licence is in the knowledge base (category: {lic.category.label}); "
               "this criterion has not been assessed.")
        findings = tuple(_finding(n, "unknown", (), why) for n in CRITERIA)
    return Verdict(lic.id, lic.name, lic.category, "headline", findings)


def _rights(lic: License) -> tuple[set[str], list[Term], bool]:
    grants = lic.of_kind(Kind.GRANT)
    rights = {r for g in grants for r in g.params.get("rights", [])}
    weights_released = all(g.params.get("weights_released", True) for g in grants)
    return rights, grants, weights_released


def _from_terms(lic: License) -> Verdict:
    rights, grants, weights_released = _rights(lic)
    can_distribute = "distribute" in rights
    can_modify = bool({"modify", "create-derivatives"} & rights)
    no_sale = [t for t in lic.terms if t.kind in NO_SALE_KINDS]
    persons = [t for t in lic.terms if t.kind in PERSONS_KINDS]
    fields = [t for t in lic.terms if t.kind in FIELD_KINDS and _restricts(t)]
    conditions = [t for t in lic.terms if t.kind in CONDITION_KINDS]
    pass_through = lic.of_kind(Kind.PASS_THROUGH)
    closed = lic.category == Category.CLOSED
    out: list[Finding] = []

    # 1 Free Redistribution
    if not can_distribute:
        out.append(_finding(1, "fail", grants, "The licence grants no right to redistribute the work."))
    elif no_sale:
        out.append(_finding(1, "fail", no_sale, "Selling or commercially giving away the work is not allowed; "
                                                "only non-commercial, research or non-production use is."))
    else:
        out.append(_finding(1, "pass", grants, "Anyone may redistribute the work, without a royalty."))

    # 2 Source Code
    if not weights_released:
        out.append(_finding(2, "fail", grants, "The weights are not released, so there is no form of the work "
                                               "to study or modify."))
    else:
        out.append(_finding(2, "pass", (), "Nothing in the licence stops distribution in the preferred form for "
                                           "modification; whether training code and data were released is a "
                                           "fact about the release, judged by the OSAID check, not the licence."))

    # 3 Derived Works
    if not can_modify:
        out.append(_finding(3, "fail", grants, "The licence grants no right to modify the work or make derived "
                                               "works."))
    else:
        out.append(_finding(3, "pass", grants, "Modifications and derived works are allowed and may be "
                                               "distributed under the same terms."))

    if closed or not can_distribute:
        # With nothing licensed for redistribution, the remaining criteria have no licence terms to apply to.
        na = "Nothing is licensed for redistribution, so there is no licence term for this criterion to judge."
        for n in (4, 7, 8, 9, 10):
            out.append(_finding(n, "not-applicable", (), na))
        tos = ("The provider's terms of service are not modelled, so use restrictions are not assessed."
               if closed else "No use restrictions are modelled for this licence.")
        out.append(_finding(5, "unknown" if closed else "pass", persons, tos))
        out.append(_finding(6, "unknown" if closed else "pass", fields, tos))
        return Verdict(lic.id, lic.name, lic.category, "terms", tuple(sorted(out, key=lambda f: f.criterion)))

    # 4 Integrity of The Author's Source Code
    why4 = ("Conditions on naming, attribution, notices or marks are of the kind the OSD tolerates "
            "(it even allows requiring a different name for derived works)." if conditions
            else "No conditions on naming or integrity.")
    out.append(_finding(4, "pass", conditions, why4))

    # 5 No Discrimination Against Persons or Groups
    if persons:
        who = "; ".join(t.summary.rstrip(".") for t in persons)
        out.append(_finding(5, "fail", persons, f"Some persons or groups get fewer rights than others: {who}."))
    else:
        out.append(_finding(5, "pass", (), "The same rights go to every licensee."))

    # 6 No Discrimination Against Fields of Endeavor
    if fields:
        kinds = sorted({t.kind.value for t in fields})
        out.append(_finding(6, "fail", fields, "The licence bars or limits uses by purpose "
                                               f"({', '.join(kinds)})."))
    else:
        out.append(_finding(6, "pass", (), "No use is barred for its purpose."))

    # 7 Distribution of License
    why7 = "Recipients get their rights from the licence itself, with no extra licence to sign."
    if pass_through:
        why7 += (" Distributors must repeat the use restrictions in their own terms; that spreads the field "
                 "restrictions counted under 6 but does not make recipients sign for their rights.")
    out.append(_finding(7, "pass", pass_through, why7))

    # 8, 9, 10
    out.append(_finding(8, "pass", (), "The rights do not depend on the work staying part of a particular "
                                       "product or distribution."))
    outputs = [t for t in lic.of_kind(Kind.OUTPUT_USE) if _restricts(t)]
    why9 = "Nothing restricts other software distributed alongside the work."
    if outputs:
        why9 += (" The limit on using outputs to improve other models is a use restriction, counted under 6; "
                 "it puts no condition on software shipped with the work.")
    out.append(_finding(9, "pass", outputs, why9))
    out.append(_finding(10, "pass", (), "No provision depends on a particular technology or interface "
                                        "(acceptance by use is allowed, not only by clicking)."))
    return Verdict(lic.id, lic.name, lic.category, "terms", tuple(out))


def osd(license: License | str) -> Verdict:
    """The licence against the 10 criteria of the Open Source Definition."""
    lic = kb.get(license) if isinstance(license, str) else license
    if not lic.full_terms:
        return _headline_only(lic)
    return _from_terms(lic)


# --- Open Source AI Definition 1.0 -------------------------------------------------------------------

OsaidResult = Literal["conforms", "does-not-conform", "insufficient-information"]
Status = Literal["met", "not-met", "unknown", "not-required"]


@dataclass(frozen=True)
class Released:
    """What a model's publisher released (the catalogue fills this in; None means we do not know)."""

    weights: bool | None = None
    inference_code: bool | None = None
    training_code: bool | None = None
    data_information: bool | None = None
    training_data: bool | None = None
    code_license: str | None = None     # licence id of the released code, if known

    def to_dict(self) -> dict[str, Any]:
        return {"weights": self.weights, "inference_code": self.inference_code,
                "training_code": self.training_code, "data_information": self.data_information,
                "training_data": self.training_data, "code_license": self.code_license}


@dataclass(frozen=True)
class OsaidReason:
    component: str                       # parameters | code | data-information | training-data
    status: Status
    why: str
    clauses: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"component": self.component, "status": self.status, "why": self.why,
                "clauses": list(self.clauses)}


@dataclass(frozen=True)
class OsaidAssessment:
    license_id: str
    result: OsaidResult
    reasons: tuple[OsaidReason, ...]
    released: Released
    verdict: Verdict = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"license": self.license_id, "result": self.result,
                "reasons": [r.to_dict() for r in self.reasons], "released": self.released.to_dict(),
                "osd": {"open_source": self.verdict.open_source, "failed": self.verdict.failed,
                        "basis": self.verdict.basis},
                "note": "OSAID 1.0 needs the four freedoms for the whole system; a licence check alone cannot "
                        "establish conformance, so this rests on the release facts given."}


def _parameters(v: Verdict, released: Released) -> OsaidReason:
    if released.weights is False:
        return OsaidReason("parameters", "not-met", "The weights are not released.")
    if v.failed:
        fails = [v.finding(n) for n in v.failed]
        clauses = tuple(dict.fromkeys(c for f in fails for c in f.clauses))
        return OsaidReason("parameters", "not-met",
                           f"The weights' licence is not OSI-approved in substance: it fails OSD {v.failed}, so "
                           "use, study, modification or sharing is not free for any purpose.", clauses)
    if v.open_source is None:
        if v.category != Category.OPEN_SOURCE:
            return OsaidReason("parameters", "not-met",
                               f"The licence is categorised as {v.category.label} (from its headline), which "
                               "rules out use for any purpose.")
        return OsaidReason("parameters", "unknown", "The licence's terms are not modelled in enough detail.")
    if released.weights is None:
        return OsaidReason("parameters", "unknown", "Whether the weights are released is not known.")
    return OsaidReason("parameters", "met", "The weights are released under terms that pass the OSD.")


def _code(released: Released) -> OsaidReason:
    parts = {"training code": released.training_code, "inference code": released.inference_code}
    missing = [name for name, value in parts.items() if value is False]
    if missing:
        return OsaidReason("code", "not-met", f"Not released: {', '.join(missing)}; OSAID needs the complete "
                                              "code used to train and run the system.")
    unknown = [name for name, value in parts.items() if value is None]
    if unknown:
        return OsaidReason("code", "unknown", f"Not known whether released: {', '.join(unknown)}.")
    if released.code_license:
        lic = kb.find(released.code_license)
        if lic is None:
            return OsaidReason("code", "unknown", f"The code's licence {released.code_license!r} is not in the "
                                                  "knowledge base.")
        cv = osd(lic)
        if cv.open_source is False or (cv.open_source is None and lic.category != Category.OPEN_SOURCE):
            return OsaidReason("code", "not-met", f"The code's licence ({lic.id}) is not an OSI-approved kind.")
        if cv.open_source is None:
            return OsaidReason("code", "unknown", f"The code's licence ({lic.id}) is not modelled in detail.")
        return OsaidReason("code", "met", f"Training and inference code are released under {lic.id}.")
    return OsaidReason("code", "met", "Training and inference code are released (their licence was not given, "
                                      "so it was not checked).")


def _data_information(released: Released) -> OsaidReason:
    if released.data_information is False:
        return OsaidReason("data-information", "not-met", "The training data is not described in enough detail "
                                                          "for a skilled person to build a substantially "
                                                          "equivalent system.")
    if released.data_information is None:
        return OsaidReason("data-information", "unknown", "Whether sufficient data information is published "
                                                          "is not known.")
    return OsaidReason("data-information", "met", "Sufficient data information is published.")


def osaid(license: License | str, released: Released) -> OsaidAssessment:
    """A release against the Open Source AI Definition 1.0: parameters, code and data information."""
    lic = kb.get(license) if isinstance(license, str) else license
    v = osd(lic)
    reasons = [_parameters(v, released), _code(released), _data_information(released)]
    if released.training_data is not None:
        # OSAID 1.0 asks for data information, not the data itself; releasing the data is noted, not required.
        state = "released" if released.training_data else "not released"
        reasons.append(OsaidReason("training-data", "not-required", f"Training data {state}; OSAID 1.0 requires "
                                                                    "data information, not the data itself."))
    statuses = {r.status for r in reasons}
    result: OsaidResult
    if "not-met" in statuses:
        result = "does-not-conform"
    elif "unknown" in statuses:
        result = "insufficient-information"
    else:
        result = "conforms"
    return OsaidAssessment(lic.id, result, tuple(reasons), released, v)


# ---------------------------------------------------------------- Model Openness Framework

MOF_CLASSES = {
    "III": ("Open Model", ("weights", "inference_code")),
    "II": ("Open Tooling Model", ("weights", "inference_code", "training_code")),
    "I": ("Open Science Model", ("weights", "inference_code", "training_code", "data_information", "training_data")),
}


@dataclass(frozen=True)
class MofClass:
    """The Model Openness Framework class a release meets (None: no class), from its released components.

    A simplification of MOF 1.0: aperto's catalogue records five of its sixteen components
    (weights, inference code, training code, data information, training data), and each must be
    released under an open licence; the model's licence stands in for all of them, so a licence that
    is not an open-source kind (Llama, Gemma, RAIL) meets no class, as the Model Openness Tool finds."""

    license_id: str
    mof_class: str | None
    name: str
    missing: tuple[str, ...]
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"license": self.license_id, "class": self.mof_class, "name": self.name,
                "missing_for_next_class": list(self.missing), "why": self.why,
                "note": "approximates MOF 1.0 from five of its sixteen components"}


def mof(license: License | str, released: Released) -> MofClass:
    lic = kb.get(license) if isinstance(license, str) else license
    if lic.category != Category.OPEN_SOURCE:
        return MofClass(lic.id, None, "", (), f"{lic.id} is {lic.category.label}, not an open licence: "
                                               "no MOF class can be met")
    met: tuple[str, str] | None = None
    missing: tuple[str, ...] = ()
    for cls in ("III", "II", "I"):
        name, needed = MOF_CLASSES[cls]
        absent = tuple(c for c in needed if getattr(released, c) is not True)
        if absent:
            missing = absent
            break
        met = (cls, name)
    if met is None:
        return MofClass(lic.id, None, "", missing, f"not released (or not known): {', '.join(missing)}")
    why = f"released under {lic.id}: {', '.join(MOF_CLASSES[met[0]][1])}"
    return MofClass(lic.id, met[0], met[1], missing, why)


def openness(license: License | str, released: Released | None = None) -> dict[str, Any]:
    """OSD verdict, OSAID assessment and MOF class of a licence and (where known) a release, as one dict."""
    lic = kb.get(license) if isinstance(license, str) else license
    facts = released or Released()
    return {"osd": osd(lic).to_dict(), "osaid": osaid(lic, facts).to_dict(), "mof": mof(lic, facts).to_dict()}
