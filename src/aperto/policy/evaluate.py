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
from aperto.policy.messages import N_, Phrase, Value, render
from aperto.policy.profile import Profile, Use, in_eu

WHOLE = N_("whole licence")   # the clause cited for facts about the licence as a whole (category, scope)
NOTHING = Phrase("")          # an optional piece of a sentence, left out

A = Outcome.ALLOWED
AWO = Outcome.ALLOWED_WITH_OBLIGATIONS
GRANT = Outcome.NEEDS_LICENSOR_GRANT
NO = Outcome.PROHIBITED

# the declared uses, as sentences name them
USES = {u.value: N_(u.value) for u in Use}


@dataclass
class _Work:
    lic: License
    profile: Profile
    model: ModelLike | None
    reasons: list[Reason] = field(default_factory=list)
    obligations: list[Obligation] = field(default_factory=list)

    def reason(self, clause: str, msgid: str, values: dict[str, Value], kind: str, outcome: Outcome) -> None:
        self.reasons.append(Reason(clause=clause, text=render(msgid, values), kind=kind, outcome=outcome,
                                   msgid=msgid, values=values))

    def oblige(self, kind: str, msgid: str, values: dict[str, Value], clause: str) -> None:
        ob = Obligation(kind=kind, text=render(msgid, values), clause=clause, msgid=msgid, values=values)
        if ob not in self.obligations:
            self.obligations.append(ob)

    @property
    def use(self) -> Phrase:
        return Phrase(USES[self.profile.use.value])

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


def _summary(t: Term) -> Phrase:
    """A clause's summary from the knowledge base (its translations are in the clauses catalogue)."""
    return Phrase(t.summary)


def _name_key(name: str) -> str:
    """Compare names loosely: drop a repo owner, case, spaces, dashes, underscores, dots."""
    bare = name.rsplit("/", 1)[-1]
    return "".join(ch for ch in bare.lower() if ch.isalnum())


# ---- one rule per term kind, each with the sentences it says ------------------------------------

THRESHOLD_SCOPE = N_("The %(limit)s monthly-active-user threshold applies to %(uses)s use only; the declared use is %(use)s.")  # noqa: E501
OWN = N_("own")
OWN_AND_AFFILIATES = N_("own plus affiliates'")
AT_RELEASE_MONTH = N_(" in the month before the licence version's release date, %(date)s")
AT_RELEASE = N_(" at the release date")
AT_ANY_TIME = N_(" at any time")
USERS_OVER = N_("Declared monthly active users (%(how)s%(at)s) are %(counted)s, more than %(limit)s: a separate licence from the licensor is needed, at its discretion, and no rights exist until it is granted.")  # noqa: E501
USERS_UNDER = N_("Declared monthly active users (%(how)s%(at)s) are %(counted)s, not more than %(limit)s: no separate licence is needed.")  # noqa: E501


def _user_threshold(w: _Work, t: Term) -> None:
    limit = int(t.params.get("mau", 0) or 0)
    if limit <= 0:
        return
    only = _threshold_uses(t)
    if only and w.profile.use.value not in only:
        w.reason(t.clause, THRESHOLD_SCOPE, {"limit": limit, "uses": tuple(Phrase(USES.get(u, u)) for u in only),
                                             "use": w.use}, t.kind.value, A)
        return
    with_affiliates = bool(t.params.get("includes_affiliates", False))
    counted = w.profile.total_mau if with_affiliates else w.profile.mau
    how = Phrase(OWN_AND_AFFILIATES if with_affiliates else OWN)
    when = t.params.get("measured_at", "")
    if when == "release-date":
        at = Phrase(AT_RELEASE_MONTH, {"date": w.release_date}) if w.release_date else Phrase(AT_RELEASE)
    elif when == "any-time":
        at = Phrase(AT_ANY_TIME)
    else:
        at = NOTHING
    values: dict[str, Value] = {"how": how, "at": at, "counted": counted, "limit": limit}
    # "more than" / "exceeded": exactly the threshold does not trigger it.
    if counted > limit:
        w.reason(t.clause, USERS_OVER, values, t.kind.value, GRANT)
    else:
        w.reason(t.clause, USERS_UNDER, values, t.kind.value, A)


def _threshold_uses(t: Term) -> list[str]:
    """Which declared uses a threshold counts for; empty means all (Llama §2 removes every right)."""
    p = t.params
    if p.get("commercial_only") or p.get("applies_to") in ("commercial", "commercial-use"):
        return [Use.COMMERCIAL.value]
    uses = p.get("uses") or p.get("applies_to_uses")
    if isinstance(uses, list):
        return [str(u) for u in uses]
    return []


REVENUE_UNDECLARED = N_("Commercial use above US$%(limit)s a year in revenue needs more from the licensor; no revenue was declared.")  # noqa: E501
REVENUE_CHECK = N_("Check annual revenue against US$%(limit)s: %(summary)s")
REVENUE_OVER = N_("Declared annual revenue US$%(revenue)s is above US$%(limit)s: %(summary)s")
REVENUE_UNDER = N_("Declared annual revenue US$%(revenue)s is not above US$%(limit)s.")


def _revenue_threshold(w: _Work, t: Term) -> None:
    # whole dollars, rounded as the "{:,.0f}" format did
    limit = round(float(t.params.get("usd_per_year", 0) or 0))
    if w.profile.use not in (Use.COMMERCIAL, Use.INTERNAL):
        return
    revenue = w.profile.annual_revenue_usd
    if revenue is None:
        w.reason(t.clause, REVENUE_UNDECLARED, {"limit": limit}, t.kind.value, AWO)
        w.oblige("revenue", REVENUE_CHECK, {"limit": limit, "summary": _summary(t)}, t.clause)
    elif revenue > float(t.params.get("usd_per_year", 0) or 0):
        w.reason(t.clause, REVENUE_OVER, {"revenue": round(revenue), "limit": limit, "summary": _summary(t)},
                 t.kind.value, GRANT)
    else:
        w.reason(t.clause, REVENUE_UNDER, {"revenue": round(revenue), "limit": limit}, t.kind.value, A)


NO_TRAINING = N_("Using the model or its outputs to train or improve another model is not allowed%(unless)s.")
UNLESS = N_(" (the exception: %(exception)s; if that is your case, do not declare train-other-models)")
OUTPUTS_FOR_RESEARCH = N_("Use the outputs for research only: %(summary)s")
OUTPUTS_RESEARCH_ONLY = N_("Outputs may be used for research only; the declared use is %(use)s.")


def _output_use(w: _Work, t: Term) -> None:
    if not w.profile.train_other_models:
        return
    if t.params.get("no_improving_other_models"):
        exception = t.params.get("exception")
        unless = Phrase(UNLESS, {"exception": str(exception)}) if exception else NOTHING
        w.reason(t.clause, NO_TRAINING, {"unless": unless}, t.kind.value, NO)
    elif t.params.get("research_only_outputs"):
        if w.profile.use == Use.RESEARCH:
            w.reason(t.clause, t.summary, {}, t.kind.value, AWO)
            w.oblige("output-use", OUTPUTS_FOR_RESEARCH, {"summary": _summary(t)}, t.clause)
        else:
            w.reason(t.clause, OUTPUTS_RESEARCH_ONLY, {"use": w.use}, t.kind.value, NO)


BY_OUTPUTS = N_("a model trained on it or on its outputs")
DERIVATIVE = N_("a derivative model")
NAME_MUST = N_("If %(what)s is distributed or made available, its name must begin with \"%(prefix)s\".")
NAME_ANY = N_("Name any distributed or hosted derivative so that it begins with \"%(prefix)s\".")
NAME_OK = N_("The declared name \"%(name)s\" begins with \"%(prefix)s\", as required.")
NAME_KEEP = N_("Keep the \"%(prefix)s\" prefix in the derivative's name (\"%(name)s\").")
NAME_BAD = N_("The declared name \"%(name)s\" does not begin with \"%(prefix)s\"; distributing it under that name would breach this clause.")  # noqa: E501
NAME_RENAME = N_("Rename the derivative to begin with \"%(prefix)s\" before distributing it (for example \"%(prefix)s-%(bare)s\").")  # noqa: E501


def _naming(w: _Work, t: Term) -> None:
    prefix = str(t.params.get("prefix", "")).strip()
    if not prefix:
        return
    p = w.profile
    by_outputs = p.train_other_models and bool(t.params.get("includes_output_trained", False))
    if not (p.publish_finetune or by_outputs or p.derivative_name):
        return
    what = Phrase(BY_OUTPUTS if by_outputs else DERIVATIVE)
    if p.derivative_name is None:
        w.reason(t.clause, NAME_MUST, {"what": what, "prefix": prefix}, t.kind.value, AWO)
        w.oblige("naming", NAME_ANY, {"prefix": prefix}, t.clause)
    elif _name_key(p.derivative_name).startswith(_name_key(prefix)):
        named: dict[str, Value] = {"name": p.derivative_name, "prefix": prefix}
        w.reason(t.clause, NAME_OK, named, t.kind.value, AWO)
        w.oblige("naming", NAME_KEEP, named, t.clause)
    else:
        # An obligation rather than a refusal: the name is a condition of distribution that the
        # requester can meet, not a bar to using the model (see docs/eligibility.md).
        bare = p.derivative_name.rsplit("/", 1)[-1]
        w.reason(t.clause, NAME_BAD, {"name": p.derivative_name, "prefix": prefix}, t.kind.value, AWO)
        w.oblige("naming", NAME_RENAME, {"prefix": prefix, "bare": bare}, t.clause)


DISPLAY = N_("Display \"%(text)s\"%(alt)s%(where)s (website, user interface, blog post, about page or product documentation).")  # noqa: E501
DISPLAY_IF_TRAINED = N_("If a model trained on its outputs is distributed or made available: display \"%(text)s\"%(alt)s%(where)s (website, user interface, blog post, about page or product documentation).")  # noqa: E501
OR_ALTERNATIVE = N_(" (or \"%(alternative)s\")")
PROMINENTLY = N_(" prominently")
ATTRIBUTION = N_("Give the attribution the licence asks for when sharing: %(summary)s")


def _attribution(w: _Work, t: Term) -> None:
    p = w.profile
    # Sharing the model or a derivative, or offering it as a service ("make available"), triggers it;
    # so does distributing a model trained on outputs where the clause says so (Qwen §5.b).
    by_outputs = p.train_other_models and bool(t.params.get("includes_output_trained", False))
    if not (p.shares or p.hosted_service or by_outputs):
        return
    text = t.params.get("text")
    if text:
        alt = t.params.get("alternative")
        w.oblige("attribution", DISPLAY_IF_TRAINED if by_outputs and not p.shares else DISPLAY, {
            "text": str(text), "alt": Phrase(OR_ALTERNATIVE, {"alternative": str(alt)}) if alt else NOTHING,
            "where": Phrase(PROMINENTLY) if t.params.get("prominently") else NOTHING}, t.clause)
    else:
        w.oblige("attribution", ATTRIBUTION, {"summary": _summary(t)}, t.clause)
    w.reason(t.clause, t.summary, {}, t.kind.value, AWO)


LICENCE_COPY = N_("Give every recipient a copy of the %(licence)s.")
KEEP_NOTICE = N_("Keep this notice%(into)s with every copy: \"%(text)s\"")
IN_FILE = N_(" in a \"%(file)s\" text file")
KEEP_NOTICES = N_("Keep the required notices: %(summary)s")


def _notice(w: _Work, t: Term) -> None:
    if not w.profile.shares:
        return
    if t.params.get("copy_of_license"):
        w.oblige("license-copy", LICENCE_COPY, {"licence": w.lic.name}, t.clause)
    text = t.params.get("text")
    if text:
        file = t.params.get("file")
        into = Phrase(IN_FILE, {"file": str(file)}) if file else NOTHING
        w.oblige("notice", KEEP_NOTICE, {"into": into, "text": str(text)}, t.clause)
    elif not t.params.get("copy_of_license"):
        w.oblige("notice", KEEP_NOTICES, {"summary": _summary(t)}, t.clause)
    w.reason(t.clause, t.summary, {}, t.kind.value, AWO)


THE_AUP = N_("the acceptable use policy")
AUP_REFUSED = N_("The licence makes compliance with %(policy)s a condition; the requester does not accept it.")
COMPLY = N_("Comply with %(policy)s%(changes)s.")
MAY_CHANGE = N_(" (it may change; follow the current version)")


def _acceptable_use(w: _Work, t: Term) -> None:
    # the policy's id (named for people by the pages) or, where the clause names none, a phrase
    policy = Phrase(str(t.params.get("policy", THE_AUP)))
    if not w.profile.accepts_aup:
        w.reason(t.clause, AUP_REFUSED, {"policy": policy}, t.kind.value, NO)
        return
    changes = Phrase(MAY_CHANGE) if t.params.get("may_change") else NOTHING
    w.oblige("acceptable-use", COMPLY, {"policy": policy, "changes": changes}, t.clause)
    w.reason(t.clause, t.summary, {}, t.kind.value, AWO)


DO_NOT_USE_FOR = N_("Do not use the model for: %(listed)s.")


def _field_of_use(w: _Work, t: Term) -> None:
    banned = t.params.get("banned") or []
    # each banned use is a phrase of its own (its msgid is the id with spaces, as the sentence shows it)
    listed = tuple(Phrase(str(b).replace("-", " ")) for b in banned) if banned else (_summary(t),)
    w.oblige("field-of-use", DO_NOT_USE_FOR, {"listed": listed}, t.clause)
    w.reason(t.clause, t.summary, {}, t.kind.value, AWO)


THE_EU = N_("the EU")
TEXT_ONLY = N_("The EU exclusion covers the multimodal models only; this one is text-only.")
FOR_MULTIMODAL = N_(" for the multimodal models")
EXCLUDED = N_("The rights are not granted%(scope)s to individuals domiciled in, or companies with their principal place of business in, %(places)s; the declared country is %(country)s. (End users of a product built on the model are not affected.)")  # noqa: E501
NO_COUNTRY = N_("No country was declared; the rights are withheld%(scope)s from those based in %(places)s.")
NOT_AVAILABLE = N_("Not available%(scope)s to individuals or companies based in %(places)s.")


def _geography(w: _Work, t: Term) -> None:
    excluded = [str(x).upper() for x in t.params.get("excluded", [])]
    places = tuple(Phrase(THE_EU) if x == "EU" else x for x in excluded)
    applies_to = t.params.get("applies_to", "")
    if applies_to == "multimodal-models" and not w.multimodal:
        if "EU" in excluded and w.profile.country is not None and in_eu(w.profile.country):
            w.reason(t.clause, TEXT_ONLY, {}, t.kind.value, A)
        return
    country = w.profile.country
    hit = country is not None and (country in excluded or ("EU" in excluded and in_eu(country)))
    scope = Phrase(FOR_MULTIMODAL) if applies_to == "multimodal-models" else NOTHING
    if hit:
        assert country is not None
        w.reason(t.clause, EXCLUDED, {"scope": scope, "places": places, "country": country}, t.kind.value, NO)
    elif country is None:
        w.reason(t.clause, NO_COUNTRY, {"scope": scope, "places": places}, t.kind.value, AWO)
        w.oblige("geography", NOT_AVAILABLE, {"scope": scope, "places": places}, t.clause)


NON_COMMERCIAL_ONLY = N_("non-commercial use only")
RESEARCH_ONLY = N_("research use only")
NON_PRODUCTION_ONLY = N_("testing, research, personal or evaluation use in non-production environments only")
ALLOWS = N_("The licence allows %(what)s; the declared use is %(use)s.%(extra)s%(then)s")
KEEP_TO = N_("Keep to %(what)s: %(summary)s")
INTERNAL_IS_COMMERCIAL = N_(" Internal use by a business is directed towards commercial advantage.")
SEPARATE_LICENCE = N_(" A separate licence from the licensor is needed.")


def _non_commercial(w: _Work, t: Term) -> None:
    _restrict_use(w, t, allowed={Use.RESEARCH, Use.EVALUATION}, what=NON_COMMERCIAL_ONLY)


def _research_only(w: _Work, t: Term) -> None:
    _restrict_use(w, t, allowed=_uses(t, {Use.RESEARCH}), what=RESEARCH_ONLY)


def _non_production(w: _Work, t: Term) -> None:
    _restrict_use(w, t, allowed=_uses(t, {Use.RESEARCH, Use.EVALUATION}), what=NON_PRODUCTION_ONLY)


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
        w.reason(t.clause, ALLOWS, {"what": Phrase(what), "use": w.use, "extra": NOTHING, "then": NOTHING},
                 t.kind.value, AWO)
        w.oblige(t.kind.value, KEEP_TO, {"what": Phrase(what), "summary": _summary(t)}, t.clause)
        return
    extra = NOTHING
    if use == Use.INTERNAL and t.kind == Kind.NON_COMMERCIAL:
        extra = Phrase(INTERNAL_IS_COMMERCIAL)
    # Some licences send other uses to the licensor for a separate licence (Qwen Research §2.b).
    outcome = GRANT if t.params.get("outcome") == "needs-licensor-grant" else NO
    then = Phrase(SEPARATE_LICENCE) if outcome == GRANT else NOTHING
    w.reason(t.clause, ALLOWS, {"what": Phrase(what), "use": w.use, "extra": extra, "then": then},
             t.kind.value, outcome)


HOSTED = N_("Offering the model as a hosted service: %(summary)s")
NOT_HOSTED = N_("Do not offer the model as a hosted service without checking: %(summary)s")


def _hosting(w: _Work, t: Term) -> None:
    if w.profile.hosted_service:
        w.reason(t.clause, HOSTED, {"summary": _summary(t)}, t.kind.value, GRANT)
    elif w.profile.use == Use.COMMERCIAL:
        w.oblige("hosting", NOT_HOSTED, {"summary": _summary(t)}, t.clause)
        w.reason(t.clause, t.summary, {}, t.kind.value, AWO)


THE_USE_RESTRICTIONS = N_("the use restrictions")
PASS_ON = N_("Pass %(what)s on to everyone you give the model or a derivative to%(enforceable)s, and tell them to do the same.")  # noqa: E501
ENFORCEABLE = N_(" as an enforceable provision")


def _pass_through(w: _Work, t: Term) -> None:
    if not w.profile.shares:
        return
    what = Phrase(str(t.params.get("what", THE_USE_RESTRICTIONS)))
    enforceable = Phrase(ENFORCEABLE) if t.params.get("as_enforceable_provision", True) else NOTHING
    w.oblige("pass-through", PASS_ON, {"what": what, "enforceable": enforceable}, t.clause)
    w.reason(t.clause, t.summary, {}, t.kind.value, AWO)


MARK_CHANGES = N_("Mark modified files with a prominent notice that you changed them.")


def _mark_modifications(w: _Work, t: Term) -> None:
    if w.profile.publish_finetune:
        w.oblige("mark-modifications", MARK_CHANGES, {}, t.clause)
        w.reason(t.clause, t.summary, {}, t.kind.value, AWO)


def _remote_restriction(w: _Work, t: Term) -> None:
    # A risk to know about, not an obligation: the licensor may cut off use later.
    w.reason(t.clause, t.summary, {}, t.kind.value, A)


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

CLOSED = N_("%(licence)s is closed: the weights are not released, so the model cannot be self-hosted, redistributed or fine-tuned outside the vendor's service.")  # noqa: E501
NON_COMMERCIAL_LICENCE = N_("%(licence)s is a non-commercial / research licence; the declared use is %(use)s.")
NOT_MODELLED = N_("The terms of %(licence)s are not modelled in full here; this decision rests on its category (%(category)s) and headline restrictions only.")  # noqa: E501
READ_IT = N_("Read the %(licence)s yourself before relying on this decision.")
READ_IT_AT = N_("Read the %(licence)s yourself before relying on this decision (%(url)s).")
NEVER_RELEASED = N_("The weights of %(model)s were never released, so there is nothing to self-host or redistribute.")
UNCONDITIONAL = N_("%(licence)s grants this use without conditions that apply to the declared profile.")
# a licence's category as sentences name it (the pages' labels translate the same words); a closed
# licence is refused before its terms are looked at
CATEGORIES = {c.value: N_(c.label) for c in Category if c != Category.CLOSED}


def _category(w: _Work) -> None:
    lic = w.lic
    named: dict[str, Value] = {"licence": lic.name}
    if lic.category == Category.CLOSED:
        grants = lic.of_kind(Kind.GRANT)
        w.reason(grants[0].clause if grants else WHOLE, CLOSED, named, "closed", NO)
        return
    if lic.category == Category.NONCOMMERCIAL_RESEARCH:
        if not lic.has(Kind.NON_COMMERCIAL) and not lic.has(Kind.RESEARCH_ONLY) and not lic.has(Kind.NON_PRODUCTION):
            if w.profile.use in (Use.COMMERCIAL, Use.INTERNAL):
                w.reason(WHOLE, NON_COMMERCIAL_LICENCE, {**named, "use": w.use}, "category", NO)
    if not lic.full_terms:
        w.reason(WHOLE, NOT_MODELLED, {**named, "category": Phrase(CATEGORIES[lic.category.value])},
                 "terms-incomplete", AWO)
        if lic.url:
            w.oblige("read-license", READ_IT_AT, {**named, "url": lic.url}, WHOLE)
        else:
            w.oblige("read-license", READ_IT, named, WHOLE)
        for line in lic.headline:
            w.reason(WHOLE, line, {}, "headline", AWO)


def _model(w: _Work) -> None:
    m = w.model
    if m is not None and m.weights_released is False and w.lic.category != Category.CLOSED:
        w.reason(f"catalogue: {m.id}", NEVER_RELEASED, {"model": m.id}, "model", NO)


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
        w.reason(clause, UNCONDITIONAL, {"licence": lic.name}, "grant", A)
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
