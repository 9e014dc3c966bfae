"""The policy rules on licences built here, so they do not depend on the knowledge base's data."""

from __future__ import annotations

import pytest

from aperto.errors import BadInput
from aperto.licenses.terms import Category, Kind, License, Term
from aperto.policy import Outcome, Profile, evaluate
from aperto.policy.profile import EU_MEMBER_STATES, in_eu, normalise_country

THRESHOLD = Term(Kind.USER_THRESHOLD, "§2", "700M MAU at the release date, affiliates counted",
                 {"mau": 700_000_000, "measured_at": "release-date", "includes_affiliates": True,
                  "outcome": "needs-licensor-grant"})
OUTPUT = Term(Kind.OUTPUT_USE, "§1.b.v", "no improving other LLMs", {"no_improving_other_models": True})
NOTICE = Term(Kind.NOTICE, "§1.b.i", "copy of the agreement", {"copy_of_license": True})
AUP = Term(Kind.ACCEPTABLE_USE, "§1.b.iv", "AUP incorporated", {"policy": "test-aup"})
NAMING = Term(Kind.NAMING, "§1.b.i", "name starts with Llama",
              {"prefix": "Llama", "applies_to": "distributed-derivatives", "includes_output_trained": True})
GEO = Term(Kind.GEOGRAPHY, "AUP (EU multimodal)", "no EU for multimodal",
           {"excluded": ["EU"], "applies_to": "multimodal-models"})


def lic(*terms: Term, category: Category = Category.OPEN_WEIGHTS_RESTRICTED, full: bool = True,
        headline: tuple[str, ...] = ()) -> License:
    return License(id="test", name="Test Licence", version="1", category=category, release_date="2023-07-18",
                   terms=terms, full_terms=full, headline=headline)


def outcome(license: License, **profile: object) -> Outcome:
    return evaluate(license, Profile(**profile)).outcome  # type: ignore[arg-type]


def test_threshold_exceeded_needs_grant_and_cites_clause() -> None:
    d = evaluate(lic(THRESHOLD), Profile(mau=800_000_000))
    assert d.outcome == Outcome.NEEDS_LICENSOR_GRANT
    assert [r.clause for r in d.reasons if r.outcome == Outcome.NEEDS_LICENSOR_GRANT] == ["§2"]


def test_threshold_exactly_is_not_exceeding() -> None:
    assert outcome(lic(THRESHOLD), mau=700_000_000) == Outcome.ALLOWED
    assert outcome(lic(THRESHOLD), mau=700_000_001) == Outcome.NEEDS_LICENSOR_GRANT


def test_threshold_counts_affiliates_only_when_the_clause_does() -> None:
    assert outcome(lic(THRESHOLD), mau=600_000_000, affiliates_mau=200_000_000) == Outcome.NEEDS_LICENSOR_GRANT
    own_only = Term(Kind.USER_THRESHOLD, "§4", "own users only", {"mau": 700_000_000, "includes_affiliates": False})
    assert outcome(lic(own_only), mau=600_000_000, affiliates_mau=200_000_000) == Outcome.ALLOWED


def test_threshold_limited_to_commercial_use() -> None:
    qwenish = Term(Kind.USER_THRESHOLD, "§4", "100M for commercial use", {"mau": 100_000_000, "commercial_only": True})
    assert outcome(lic(qwenish), mau=150_000_000, use="commercial") == Outcome.NEEDS_LICENSOR_GRANT
    assert outcome(lic(qwenish), mau=150_000_000, use="research") == Outcome.ALLOWED


def test_output_use_prohibits_training_other_models() -> None:
    d = evaluate(lic(OUTPUT, THRESHOLD), Profile(mau=800_000_000, train_other_models=True))
    assert d.outcome == Outcome.PROHIBITED
    assert d.reasons[0].clause == "§1.b.v"
    # all reasons reported, not only the strongest
    assert {r.clause for r in d.reasons} == {"§1.b.v", "§2"}
    assert outcome(lic(OUTPUT), train_other_models=False) == Outcome.ALLOWED


def test_naming_without_name_is_an_obligation() -> None:
    d = evaluate(lic(NAMING), Profile(train_other_models=True))
    assert d.outcome == Outcome.ALLOWED_WITH_OBLIGATIONS
    assert [o.kind for o in d.obligations] == ["naming"]
    assert '"Llama"' in d.obligations[0].text


def test_naming_checks_the_declared_name() -> None:
    good = evaluate(lic(NAMING), Profile(publish_finetune=True, derivative_name="acme/Llama-3.1-Acme-8B"))
    bad = evaluate(lic(NAMING), Profile(publish_finetune=True, derivative_name="acme/Acme-8B"))
    assert good.outcome == bad.outcome == Outcome.ALLOWED_WITH_OBLIGATIONS
    assert "Keep" in good.obligations[0].text
    assert "Rename" in bad.obligations[0].text and "Llama-Acme-8B" in bad.obligations[0].text
    assert "does not begin" in bad.reasons[0].text


def test_naming_does_not_apply_to_private_use() -> None:
    assert outcome(lic(NAMING)) == Outcome.ALLOWED


def test_notice_only_when_sharing() -> None:
    assert outcome(lic(NOTICE)) == Outcome.ALLOWED
    d = evaluate(lic(NOTICE), Profile(redistribute=True))
    assert d.outcome == Outcome.ALLOWED_WITH_OBLIGATIONS
    assert d.obligations[0].kind == "license-copy"


def test_aup_is_an_obligation_and_refusing_it_prohibits() -> None:
    d = evaluate(lic(AUP), Profile())
    assert d.outcome == Outcome.ALLOWED_WITH_OBLIGATIONS and "test-aup" in d.obligations[0].text
    assert outcome(lic(AUP), accepts_aup=False) == Outcome.PROHIBITED


@pytest.mark.parametrize("country", sorted(EU_MEMBER_STATES))
def test_geography_excludes_every_eu_state_for_multimodal(country: str) -> None:
    assert outcome(lic(GEO), country=country, multimodal=True) == Outcome.PROHIBITED


def test_geography_spares_non_eu_and_text_only() -> None:
    assert outcome(lic(GEO), country="US", multimodal=True) == Outcome.ALLOWED
    assert outcome(lic(GEO), country="GB", multimodal=True) == Outcome.ALLOWED   # left the EU in 2020
    assert outcome(lic(GEO), country="CH", multimodal=True) == Outcome.ALLOWED
    assert outcome(lic(GEO), country="DE", multimodal=False) == Outcome.ALLOWED
    assert outcome(lic(GEO), country="RE", multimodal=True) == Outcome.PROHIBITED  # Réunion is in the EU


def test_geography_without_country_is_not_a_clean_allow() -> None:
    d = evaluate(lic(GEO), Profile(multimodal=True))
    assert d.outcome == Outcome.ALLOWED_WITH_OBLIGATIONS
    assert d.obligations[0].kind == "geography"


@pytest.mark.parametrize(("kind", "use", "expected"), [
    (Kind.NON_COMMERCIAL, "commercial", Outcome.PROHIBITED),
    (Kind.NON_COMMERCIAL, "internal", Outcome.PROHIBITED),
    (Kind.NON_COMMERCIAL, "research", Outcome.ALLOWED_WITH_OBLIGATIONS),
    (Kind.RESEARCH_ONLY, "evaluation", Outcome.PROHIBITED),
    (Kind.RESEARCH_ONLY, "research", Outcome.ALLOWED_WITH_OBLIGATIONS),
    (Kind.NON_PRODUCTION, "internal", Outcome.PROHIBITED),
    (Kind.NON_PRODUCTION, "evaluation", Outcome.ALLOWED_WITH_OBLIGATIONS),
])
def test_use_restrictions(kind: Kind, use: str, expected: Outcome) -> None:
    assert outcome(lic(Term(kind, "§3", "restricted")), use=use) == expected


def test_closed_category_is_prohibited() -> None:
    d = evaluate(lic(category=Category.CLOSED, full=False), Profile(use="research"))
    assert d.outcome == Outcome.PROHIBITED
    assert any("weights are not released" in r.text for r in d.reasons)


def test_partial_terms_never_give_a_clean_allow() -> None:
    d = evaluate(lic(category=Category.OPEN_SOURCE, full=False, headline=("keep the notice",)), Profile())
    assert d.outcome == Outcome.ALLOWED_WITH_OBLIGATIONS
    assert "read-license" in [o.kind for o in d.obligations]
    assert any("not modelled in full" in r.text for r in d.reasons)


def test_noncommercial_category_without_terms_still_blocks_commercial() -> None:
    license = lic(category=Category.NONCOMMERCIAL_RESEARCH, full=False)
    assert outcome(license, use="commercial") == Outcome.PROHIBITED
    assert outcome(license, use="research") == Outcome.ALLOWED_WITH_OBLIGATIONS


def test_every_reason_cites_a_clause_and_to_dict_is_complete() -> None:
    d = evaluate(lic(THRESHOLD, OUTPUT, NOTICE, AUP, NAMING, GEO),
                 Profile(mau=1, train_other_models=True, redistribute=True, country="IT", multimodal=True))
    assert all(r.clause for r in d.reasons) and all(o.clause for o in d.obligations)
    body = d.to_dict()
    assert body["outcome"] == "prohibited" and body["license"] == "test"
    assert {"clause", "text", "kind"} <= set(body["reasons"][0])
    assert {"kind", "text", "clause"} <= set(body["obligations"][0])


@pytest.mark.parametrize("bad", [{"mau": -1}, {"affiliates_mau": -5}, {"country": "XX"}, {"country": "DEU"},
                                 {"use": "military"}, {"mau": 1.5}])
def test_bad_profiles_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(BadInput):
        Profile(**bad)  # type: ignore[arg-type]


def test_country_codes() -> None:
    assert normalise_country("de") == "DE"
    assert normalise_country("UK") == "GB"
    assert normalise_country("EL") == "GR" and in_eu("GR")
    assert normalise_country("") is None
    assert not in_eu("NO") and not in_eu(None)
