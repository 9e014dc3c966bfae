"""Profile x licence terms -> Decision. Pure: no I/O beyond reading the licence
knowledge base, no clock, no environment.

Each term kind has one rule. A rule looks at the declared profile and adds
reasons (each with its clause and the outcome it alone leads to) and
obligations. The strongest outcome among the reasons wins; all reasons are
reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aperto.licenses.terms import Category, Kind, License, Term
from aperto.policy.decision import Decision, ModelLike, Obligation, Outcome, Reason
from aperto.policy.profile import Profile, Use, in_eu

WHOLE = "whole licence"   # the clause cited for facts about the licence as a whole (category, scope)

A = Outcome.ALLOWED
AWO = Outcome.ALLOWED_WITH_OBLIGATIONS
GRANT = Outcome.NEEDS_LICENSOR_GRANT
NO = Outcome.PROHIBITED


@dataclass
class _Work:
    lic: License
    profile: Profile
    model: ModelLike | None
    reasons: list[Reason] = field(default_factory=list)
    obligations: list[Obligation] = field(default_factory=list)

    def reason(self, clause: str, text: str, kind: str, outcome: Outcome) -> None:
        self.reasons.append(Reason(clause=clause, text=text, kind=kind, outcome=outcome))

    def oblige(self, kind: str, text: str, clause: str) -> None:
        ob = Obligation(kind=kind, text=text, clause=clause)
        if ob not in self.obligations:
            self.obligations.append(ob)

    @property
    def multimodal(self) -> bool:
        return self.profile.multimodal or bool(self.model and self.model.multimodal)

    @property
    def release_date(self) -> str:
        # Llama §2 counts users on "the Llama 2 version release date": the licence version's date, which
        # can precede the model's own (Code Llama 70B came out in 2024 under the 2023 Llama 2 licence).
        if self.lic.release_date:
            return self.lic.release_date
        return self.model.release_date if self.model is not None else ""


def _fmt(n: int) -> str:
    return f"{n:,}"


def _name_key(name: str) -> str:
    """Compare names loosely: drop a repo owner, case, spaces, dashes, underscores, dots."""
    bare = name.rsplit("/", 1)[-1]
    return "".join(ch for ch in bare.lower() if ch.isalnum())


# ---- one rule per term kind ------------------------------------------------------------------

def _user_threshold(w: _Work, t: Term) -> None:
    limit = int(t.params.get("mau", 0) or 0)
    if limit <= 0:
        return
    only = _threshold_uses(t)
    if only and w.profile.use.value not in only:
        w.reason(t.clause, f"The {_fmt(limit)} monthly-active-user threshold applies to {', '.join(only)} use only; "
                           f"the declared use is {w.profile.use.value}.", t.kind.value, A)
        return
    with_affiliates = bool(t.params.get("includes_affiliates", False))
    counted = w.profile.total_mau if with_affiliates else w.profile.mau
    how = "own plus affiliates'" if with_affiliates else "own"
    when = t.params.get("measured_at", "")
    if when == "release-date":
        at = (f" in the month before the licence version's release date, {w.release_date}" if w.release_date
              else " at the release date")
    elif when == "any-time":
        at = " at any time"
    else:
        at = ""
    # "more than" / "exceeded": exactly the threshold does not trigger it.
    if counted > limit:
        w.reason(t.clause, f"Declared monthly active users ({how}{at}) are {_fmt(counted)}, more than "
                           f"{_fmt(limit)}: a separate licence from the licensor is needed, at its discretion, "
                           "and no rights exist until it is granted.", t.kind.value, GRANT)
    else:
        w.reason(t.clause, f"Declared monthly active users ({how}{at}) are {_fmt(counted)}, not more than "
                           f"{_fmt(limit)}: no separate licence is needed.", t.kind.value, A)


def _threshold_uses(t: Term) -> list[str]:
    """Which declared uses a threshold counts for; empty means all (Llama §2 removes every right)."""
    p = t.params
    if p.get("commercial_only") or p.get("applies_to") in ("commercial", "commercial-use"):
        return [Use.COMMERCIAL.value]
    uses = p.get("uses") or p.get("applies_to_uses")
    if isinstance(uses, list):
        return [str(u) for u in uses]
    return []


def _revenue_threshold(w: _Work, t: Term) -> None:
    limit = float(t.params.get("usd_per_year", 0) or 0)
    if w.profile.use not in (Use.COMMERCIAL, Use.INTERNAL):
        return
    revenue = w.profile.annual_revenue_usd
    if revenue is None:
        w.reason(t.clause, f"Commercial use above US${limit:,.0f} a year in revenue needs more from the licensor; "
                           "no revenue was declared.", t.kind.value, AWO)
        w.oblige("revenue", f"Check annual revenue against US${limit:,.0f}: {t.summary}", t.clause)
    elif revenue > limit:
        w.reason(t.clause, f"Declared annual revenue US${revenue:,.0f} is above US${limit:,.0f}: {t.summary}",
                 t.kind.value, GRANT)
    else:
        w.reason(t.clause, f"Declared annual revenue US${revenue:,.0f} is not above US${limit:,.0f}.",
                 t.kind.value, A)


def _output_use(w: _Work, t: Term) -> None:
    if not w.profile.train_other_models:
        return
    if t.params.get("no_improving_other_models"):
        exception = t.params.get("exception")
        unless = (f" (the exception: {exception}; if that is your case, do not declare train-other-models)"
                  if exception else "")
        w.reason(t.clause, f"Using the model or its outputs to train or improve another model is not "
                           f"allowed{unless}.", t.kind.value, NO)
    elif t.params.get("research_only_outputs"):
        if w.profile.use == Use.RESEARCH:
            w.reason(t.clause, t.summary, t.kind.value, AWO)
            w.oblige("output-use", f"Use the outputs for research only: {t.summary}", t.clause)
        else:
            w.reason(t.clause, f"Outputs may be used for research only; the declared use is "
                               f"{w.profile.use.value}.", t.kind.value, NO)


def _naming(w: _Work, t: Term) -> None:
    prefix = str(t.params.get("prefix", "")).strip()
    if not prefix:
        return
    p = w.profile
    by_outputs = p.train_other_models and bool(t.params.get("includes_output_trained", False))
    if not (p.publish_finetune or by_outputs or p.derivative_name):
        return
    what = "a model trained on it or on its outputs" if by_outputs else "a derivative model"
    if p.derivative_name is None:
        w.reason(t.clause, f"If {what} is distributed or made available, its name must begin with \"{prefix}\".",
                 t.kind.value, AWO)
        w.oblige("naming", f"Name any distributed or hosted derivative so that it begins with \"{prefix}\".", t.clause)
    elif _name_key(p.derivative_name).startswith(_name_key(prefix)):
        w.reason(t.clause, f"The declared name \"{p.derivative_name}\" begins with \"{prefix}\", as required.",
                 t.kind.value, AWO)
        w.oblige("naming", f"Keep the \"{prefix}\" prefix in the derivative's name (\"{p.derivative_name}\").",
                 t.clause)
    else:
        # An obligation rather than a refusal: the name is a condition of distribution that the
        # requester can meet, not a bar to using the model (see docs/eligibility.md).
        bare = p.derivative_name.rsplit("/", 1)[-1]
        w.reason(t.clause, f"The declared name \"{p.derivative_name}\" does not begin with \"{prefix}\"; "
                           "distributing it under that name would breach this clause.", t.kind.value, AWO)
        w.oblige("naming", f"Rename the derivative to begin with \"{prefix}\" before distributing it "
                           f"(for example \"{prefix}-{bare}\").", t.clause)


def _attribution(w: _Work, t: Term) -> None:
    p = w.profile
    # Sharing the model or a derivative, or offering it as a service ("make available"), triggers it;
    # so does distributing a model trained on outputs where the clause says so (Qwen §5.b).
    by_outputs = p.train_other_models and bool(t.params.get("includes_output_trained", False))
    if not (p.shares or p.hosted_service or by_outputs):
        return
    text = t.params.get("text")
    if text:
        where = " prominently" if t.params.get("prominently") else ""
        alt = t.params.get("alternative")
        alt_text = f" (or \"{alt}\")" if alt else ""
        msg = (f"Display \"{text}\"{alt_text}{where} (website, user interface, blog post, about page or "
               "product documentation).")
        if by_outputs and not p.shares:
            msg = f"If a model trained on its outputs is distributed or made available: {msg[0].lower()}{msg[1:]}"
    else:
        msg = f"Give the attribution the licence asks for when sharing: {t.summary}"
    w.oblige("attribution", msg, t.clause)
    w.reason(t.clause, t.summary, t.kind.value, AWO)


def _notice(w: _Work, t: Term) -> None:
    if not w.profile.shares:
        return
    if t.params.get("copy_of_license"):
        w.oblige("license-copy", f"Give every recipient a copy of the {w.lic.name}.", t.clause)
    text = t.params.get("text")
    if text:
        file = t.params.get("file")
        into = f" in a \"{file}\" text file" if file else ""
        w.oblige("notice", f"Keep this notice{into} with every copy: \"{text}\"", t.clause)
    elif not t.params.get("copy_of_license"):
        w.oblige("notice", f"Keep the required notices: {t.summary}", t.clause)
    w.reason(t.clause, t.summary, t.kind.value, AWO)


def _acceptable_use(w: _Work, t: Term) -> None:
    policy = t.params.get("policy", "the acceptable use policy")
    if not w.profile.accepts_aup:
        w.reason(t.clause, f"The licence makes compliance with {policy} a condition; the requester does not "
                           "accept it.", t.kind.value, NO)
        return
    changes = " (it may change; follow the current version)" if t.params.get("may_change") else ""
    w.oblige("acceptable-use", f"Comply with {policy}{changes}.", t.clause)
    w.reason(t.clause, t.summary, t.kind.value, AWO)


def _field_of_use(w: _Work, t: Term) -> None:
    banned = t.params.get("banned") or []
    listed = ", ".join(str(b).replace("-", " ") for b in banned) if banned else t.summary
    w.oblige("field-of-use", f"Do not use the model for: {listed}.", t.clause)
    w.reason(t.clause, t.summary, t.kind.value, AWO)


def _geography(w: _Work, t: Term) -> None:
    excluded = [str(x).upper() for x in t.params.get("excluded", [])]
    places = ", ".join("the EU" if x == "EU" else x for x in excluded)
    applies_to = t.params.get("applies_to", "")
    if applies_to == "multimodal-models" and not w.multimodal:
        if "EU" in excluded and w.profile.country is not None and in_eu(w.profile.country):
            w.reason(t.clause, "The EU exclusion covers the multimodal models only; this one is text-only.",
                     t.kind.value, A)
        return
    country = w.profile.country
    hit = country is not None and (country in excluded or ("EU" in excluded and in_eu(country)))
    scope = " for the multimodal models" if applies_to == "multimodal-models" else ""
    if hit:
        w.reason(t.clause, f"The rights are not granted{scope} to individuals domiciled in, or companies with "
                           f"their principal place of business in, {places}; the declared country is "
                           f"{country}. (End users of a product built on the model are not affected.)",
                 t.kind.value, NO)
    elif country is None:
        w.reason(t.clause, f"No country was declared; the rights are withheld{scope} from those based in "
                           f"{places}.", t.kind.value, AWO)
        w.oblige("geography", f"Not available{scope} to individuals or companies based in {places}.",
                 t.clause)


def _non_commercial(w: _Work, t: Term) -> None:
    _restrict_use(w, t, allowed={Use.RESEARCH, Use.EVALUATION}, what="non-commercial use only")


def _research_only(w: _Work, t: Term) -> None:
    _restrict_use(w, t, allowed=_uses(t, {Use.RESEARCH}), what="research use only")


def _non_production(w: _Work, t: Term) -> None:
    _restrict_use(w, t, allowed=_uses(t, {Use.RESEARCH, Use.EVALUATION}),
                  what="testing, research, personal or evaluation use in non-production environments only")


def _uses(t: Term, default: set[Use]) -> set[Use]:
    """The declared uses a clause's ``allowed`` list covers ("testing" counts as evaluation)."""
    listed = t.params.get("allowed")
    if not isinstance(listed, list):
        return default
    known = {u.value: u for u in Use} | {"testing": Use.EVALUATION}
    out = {known[str(item)] for item in listed if str(item) in known}
    return out or default


def _restrict_use(w: _Work, t: Term, *, allowed: set[Use], what: str) -> None:
    use = w.profile.use
    if use in allowed:
        w.reason(t.clause, f"The licence allows {what}; the declared use is {use.value}.", t.kind.value, AWO)
        w.oblige(t.kind.value, f"Keep to {what}: {t.summary}", t.clause)
        return
    extra = ""
    if use == Use.INTERNAL and t.kind == Kind.NON_COMMERCIAL:
        extra = " Internal use by a business is directed towards commercial advantage."
    # Some licences send other uses to the licensor for a separate licence (Qwen Research §2.b).
    outcome = GRANT if t.params.get("outcome") == "needs-licensor-grant" else NO
    then = " A separate licence from the licensor is needed." if outcome == GRANT else ""
    w.reason(t.clause, f"The licence allows {what}; the declared use is {use.value}.{extra}{then}",
             t.kind.value, outcome)


def _hosting(w: _Work, t: Term) -> None:
    if w.profile.hosted_service:
        w.reason(t.clause, f"Offering the model as a hosted service: {t.summary}", t.kind.value, GRANT)
    elif w.profile.use == Use.COMMERCIAL:
        w.oblige("hosting", f"Do not offer the model as a hosted service without checking: {t.summary}", t.clause)
        w.reason(t.clause, t.summary, t.kind.value, AWO)


def _pass_through(w: _Work, t: Term) -> None:
    if not w.profile.shares:
        return
    what = t.params.get("what", "the use restrictions")
    enforceable = " as an enforceable provision" if t.params.get("as_enforceable_provision", True) else ""
    w.oblige("pass-through", f"Pass {what} on to everyone you give the model or a derivative to{enforceable}, "
                             "and tell them to do the same.", t.clause)
    w.reason(t.clause, t.summary, t.kind.value, AWO)


def _mark_modifications(w: _Work, t: Term) -> None:
    if w.profile.publish_finetune:
        w.oblige("mark-modifications", "Mark modified files with a prominent notice that you changed them.", t.clause)
        w.reason(t.clause, t.summary, t.kind.value, AWO)


def _remote_restriction(w: _Work, t: Term) -> None:
    # A risk to know about, not an obligation: the licensor may cut off use later.
    w.reason(t.clause, t.summary, t.kind.value, A)


RULES: dict[Kind, Callable[[_Work, Term], None]] = {
    Kind.USER_THRESHOLD: _user_threshold,
    Kind.REVENUE_THRESHOLD: _revenue_threshold,
    Kind.OUTPUT_USE: _output_use,
    Kind.NAMING: _naming,
    Kind.ATTRIBUTION: _attribution,
    Kind.NOTICE: _notice,
    Kind.ACCEPTABLE_USE: _acceptable_use,
    Kind.FIELD_OF_USE: _field_of_use,
    Kind.GEOGRAPHY: _geography,
    Kind.NON_COMMERCIAL: _non_commercial,
    Kind.RESEARCH_ONLY: _research_only,
    Kind.NON_PRODUCTION: _non_production,
    Kind.HOSTING: _hosting,
    Kind.PASS_THROUGH: _pass_through,
    Kind.MARK_MODIFICATIONS: _mark_modifications,
    Kind.REMOTE_RESTRICTION: _remote_restriction,
}


# ---- whole-licence checks ---------------------------------------------------------------------

def _category(w: _Work) -> None:
    lic = w.lic
    if lic.category == Category.CLOSED:
        grants = lic.of_kind(Kind.GRANT)
        w.reason(grants[0].clause if grants else WHOLE, f"{lic.name} is closed: the weights are not released, so the model cannot be "
                        "self-hosted, redistributed or fine-tuned outside the vendor's service.", "closed", NO)
        return
    if lic.category == Category.NONCOMMERCIAL_RESEARCH:
        if not lic.has(Kind.NON_COMMERCIAL) and not lic.has(Kind.RESEARCH_ONLY) and not lic.has(Kind.NON_PRODUCTION):
            if w.profile.use in (Use.COMMERCIAL, Use.INTERNAL):
                w.reason(WHOLE, f"{lic.name} is a non-commercial / research licence; the declared use is "
                                f"{w.profile.use.value}.", "category", NO)
    if not lic.full_terms:
        w.reason(WHOLE, f"The terms of {lic.name} are not modelled in full here; this decision rests on its "
                        f"category ({lic.category.label}) and headline restrictions only.", "terms-incomplete", AWO)
        w.oblige("read-license", f"Read the {lic.name} yourself before relying on this decision"
                                 + (f" ({lic.url})." if lic.url else "."), WHOLE)
        for line in lic.headline:
            w.reason(WHOLE, line, "headline", AWO)


def _model(w: _Work) -> None:
    m = w.model
    if m is not None and m.weights_released is False and w.lic.category != Category.CLOSED:
        w.reason(f"catalogue: {m.id}", f"The weights of {m.id} were never released, so there is nothing to "
                                       "self-host or redistribute.", "model", NO)


def _resolve(license: License | str) -> License:
    if isinstance(license, License):
        return license
    from aperto.licenses import kb  # the knowledge base; loaded on first use, not at import

    return kb.get(license)


def evaluate(license: License | str, profile: Profile, *, model: ModelLike | None = None) -> Decision:
    """Decide whether ``profile`` may use a model under ``license`` (a License or a licence id)."""
    lic = _resolve(license)
    w = _Work(lic=lic, profile=profile, model=model)
    _category(w)
    _model(w)
    for term in lic.terms:
        rule = RULES.get(term.kind)
        if rule is not None:
            rule(w, term)
    if not w.reasons:
        grants = lic.of_kind(Kind.GRANT)
        clause = grants[0].clause if grants else WHOLE
        w.reason(clause, f"{lic.name} grants this use without conditions that apply to the declared profile.",
                 "grant", A)
    outcome = max((r.outcome for r in w.reasons), key=lambda o: o.rank)
    if outcome == A and w.obligations:
        outcome = AWO
    # Most decisive reasons first, in licence order within each outcome.
    reasons = sorted(w.reasons, key=lambda r: -r.outcome.rank)
    return Decision(
        outcome=outcome,
        license=lic.id,
        license_name=lic.name,
        category=lic.category.value,
        obligations=tuple(w.obligations),
        reasons=tuple(reasons),
        model=model.id if model is not None else None,
        profile=profile.to_dict(),
        full_terms=lic.full_terms,
    )
