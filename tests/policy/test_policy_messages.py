"""Each reason and obligation carries its template and values: ``text`` is exactly their English
rendering (so the API, the CLI and JSON read as before), every template the policy defines is
one it can say, and nothing it says escapes the list (which the Italian catalogue is checked against)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from aperto.licenses import kb
from aperto.licenses.terms import Category, Kind, License, Term
from aperto.policy import Decision, Profile, evaluate
from aperto.policy.messages import MESSAGES, Phrase, render


class Model:
    id = "acme/never-out"
    multimodal = True
    release_date = "2024-05-01"
    weights_released = False


# licences built here so that every branch of every rule is reached, whatever the knowledge base holds
TERMS = (
    Term(Kind.USER_THRESHOLD, "§2", "700M at the release date",
         {"mau": 700_000_000, "measured_at": "release-date", "includes_affiliates": True}),
    Term(Kind.USER_THRESHOLD, "§4", "100M, commercial only", {"mau": 100_000_000, "commercial_only": True,
                                                               "measured_at": "any-time"}),
    Term(Kind.USER_THRESHOLD, "§5", "1M, own users", {"mau": 1_000_000}),
    Term(Kind.REVENUE_THRESHOLD, "§6", "US$1M revenue", {"usd_per_year": 1_000_000}),
    Term(Kind.OUTPUT_USE, "§7", "no improving others", {"no_improving_other_models": True, "exception": "this family"}),
    Term(Kind.OUTPUT_USE, "§7.b", "no improving others, no exception", {"no_improving_other_models": True}),
    Term(Kind.NAMING, "§8", "name prefix", {"prefix": "Acme", "includes_output_trained": True}),
    Term(Kind.ATTRIBUTION, "§9", "show it", {"text": "Built with Acme", "alternative": "Improved using Acme",
                                             "prominently": True, "includes_output_trained": True}),
    Term(Kind.ATTRIBUTION, "§9.b", "attribute as asked"),
    Term(Kind.NOTICE, "§10", "notice file", {"copy_of_license": True, "text": "Acme is licensed.", "file": "NOTICE"}),
    Term(Kind.NOTICE, "§10.b", "notice inline", {"text": "Acme notice."}),
    Term(Kind.NOTICE, "§10.c", "keep notices"),
    Term(Kind.ACCEPTABLE_USE, "§11", "AUP", {"policy": "acme-aup", "may_change": True}),
    Term(Kind.ACCEPTABLE_USE, "§11.b", "some policy"),
    Term(Kind.FIELD_OF_USE, "§12", "no weapons", {"banned": ["weapons", "illegal-activity"]}),
    Term(Kind.FIELD_OF_USE, "§12.b", "nothing harmful"),
    Term(Kind.GEOGRAPHY, "§13", "not in the EU for multimodal", {"excluded": ["EU"], "applies_to": "multimodal-models"}),
    Term(Kind.GEOGRAPHY, "§13.b", "not in the US", {"excluded": ["US"]}),
    Term(Kind.NON_COMMERCIAL, "§14", "non-commercial"),
    Term(Kind.RESEARCH_ONLY, "§15", "research only, licensor decides", {"outcome": "needs-licensor-grant"}),
    Term(Kind.NON_PRODUCTION, "§16", "non-production"),
    Term(Kind.OUTPUT_USE, "§17", "research outputs", {"research_only_outputs": True}),
    Term(Kind.HOSTING, "§18", "no hosting"),
    Term(Kind.PASS_THROUGH, "§19", "pass it on", {"what": "the use restrictions of §5"}),
    Term(Kind.PASS_THROUGH, "§19.b", "pass it on", {"as_enforceable_provision": False}),
    Term(Kind.MARK_MODIFICATIONS, "§20", "mark changes"),
    Term(Kind.REMOTE_RESTRICTION, "§21", "may cut off"),
)
BUILT = (
    License(id="every-term", name="Every Term Licence", version="1", category=Category.OPEN_WEIGHTS_RESTRICTED,
            release_date="2023-07-18", terms=TERMS, full_terms=True),
    License(id="undated", name="Undated Licence", version="1", category=Category.OPEN_WEIGHTS_RESTRICTED,
            terms=TERMS[:1], full_terms=True),
    License(id="closed", name="Closed Terms", version="1", category=Category.CLOSED),
    License(id="nc", name="NC Licence", version="1", category=Category.NONCOMMERCIAL_RESEARCH,
            headline=("keep it non-commercial",), url="https://example.org/nc"),
    License(id="bare", name="Bare Licence", version="1", category=Category.OPEN_SOURCE, full_terms=False),
    License(id="partial", name="Partial Licence", version="1", category=Category.OPEN_WEIGHTS_RESTRICTED),
    License(id="free", name="Free Licence", version="1", category=Category.OPEN_SOURCE, full_terms=True),
)


def profiles() -> Iterator[Profile]:
    """Every use and country against a handful of bundles of the yes/no answers."""
    bundles = [{}, {"redistribute": True, "hosted_service": True},
               {"publish_finetune": True, "derivative_name": "Acme-Tuned"},
               {"publish_finetune": True, "derivative_name": "mine"}, {"publish_finetune": True},
               {"train_other_models": True, "accepts_aup": False, "annual_revenue_usd": 5e6},
               {"train_other_models": True, "multimodal": True, "annual_revenue_usd": 10.0}]
    for use, country, mau, bundle in itertools.product(("commercial", "internal", "research", "evaluation"),
                                                       (None, "IT", "US"), (0, 800_000_000), bundles):
        yield Profile(use=use, country=country, mau=mau, **bundle)  # type: ignore[arg-type]


def decisions(licences: tuple[License, ...] | list[License]) -> Iterator[Decision]:
    for lic, profile in itertools.product(licences, profiles()):
        yield evaluate(lic, profile)
        if lic.id == "every-term":
            yield evaluate(lic, profile, model=Model())


def nested(phrase: Phrase) -> Iterator[str]:
    yield phrase.msgid
    for value in phrase.values.values():
        for inner in value if isinstance(value, tuple) else (value,):  # a list of phrases and data
            if isinstance(inner, Phrase):
                yield from nested(inner)


def check(d: Decision, lic: License, said: set[str]) -> None:
    own = {t.summary for t in lic.terms} | set(lic.headline)
    quoted = own | {str(t.params.get(k)) for t in lic.terms for k in ("policy", "what")} | {
        str(b).replace("-", " ") for t in lic.terms for b in t.params.get("banned") or []}
    for item in (*d.reasons, *d.obligations):
        phrase = item.phrase
        said.add(item.clause)
        assert item.text == render(phrase.msgid, phrase.values), item
        assert phrase.msgid in MESSAGES or (phrase.msgid in own and not phrase.values), item
        for msgid in nested(phrase):
            assert msgid in MESSAGES or msgid in quoted or msgid == "", (msgid, item)
            said.add(msgid)


def test_every_template_is_said_and_every_text_is_its_rendering() -> None:
    said: set[str] = set()
    for lic in BUILT:
        for d in decisions([lic]):
            check(d, lic, said)
    assert sorted(set(MESSAGES) - said) == []


@pytest.mark.slow
def test_the_knowledge_base_says_nothing_outside_the_templates() -> None:
    said: set[str] = set()
    for lic in kb.all():
        for d in decisions([lic]):
            check(d, lic, said)


def test_counts_are_values_not_text() -> None:
    d = evaluate(BUILT[0], Profile(mau=800_000_000))
    over = next(r for r in d.reasons if r.clause == "§2")
    assert over.values["counted"] == 800_000_000
    assert "800,000,000" in over.text
    assert render(over.msgid, over.values, number=lambda n: f"{n:,}".replace(",", ".")).count("800.000.000") == 1
