"""OSD verdicts derived from the structured terms, and OSAID 1.0 assessments."""

from __future__ import annotations

import pytest

from aperto.licenses import kb
from aperto.licenses.terms import Category, Kind, License, Term
from aperto.licenses.verdict import CRITERIA, Released, osaid, osd

LLAMAS = ["llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4"]


@pytest.mark.parametrize("lid", LLAMAS)
def test_llama_fails_exactly_5_and_6_as_osi_says(lid: str) -> None:
    # OSI (July 2023, Feb 2025): Llama 2 and Llama 3.x fail OSD 5 and 6. Output-use (§1.b.v) is a use
    # restriction and lands under 6, so it adds clauses, not criteria.
    v = osd(lid)
    assert v.failed == [5, 6]
    assert v.basis == "terms" and v.open_source is False
    assert "§2" in v.finding(5).clauses
    assert "§1.b.iv" in v.finding(6).clauses
    assert v.category == Category.OPEN_WEIGHTS_RESTRICTED


def test_llama_output_use_and_eu_are_cited_where_they_belong() -> None:
    assert "§1.b.v" in osd("llama2").finding(6).clauses
    assert "§1.b.v" not in osd("llama3.1").finding(6).clauses
    assert "AUP (EU multimodal)" in osd("llama3.2").finding(5).clauses
    assert "AUP (EU multimodal)" not in osd("llama3.1").finding(5).clauses


@pytest.mark.parametrize("lid", ["apache-2.0", "mit", "bsd-3-clause"])
def test_permissive_licences_pass_all_ten(lid: str) -> None:
    v = osd(lid)
    assert [f.result for f in v.findings] == ["pass"] * 10
    assert [f.criterion for f in v.findings] == list(range(1, 11))
    assert v.open_source is True and v.failed == []


def test_cc_by_nc_fails_6_and_1() -> None:
    v = osd("cc-by-nc-4.0")
    assert 6 in v.failed and 1 in v.failed and 5 not in v.failed
    assert v.category == Category.NONCOMMERCIAL_RESEARCH


def test_closed_is_closed_and_fails_redistribution_source_and_derivatives() -> None:
    v = osd("closed-api-only")
    assert v.category == Category.CLOSED
    assert v.failed == [1, 2, 3]
    assert v.finding(6).result == "unknown"


@pytest.mark.parametrize("lid", ["gemma", "bigscience-openrail-m", "openrail++", "deepseek", "tii-falcon-180b"])
def test_use_restricted_weights_fail_6_not_5(lid: str) -> None:
    v = osd(lid)
    assert v.failed == [6]


def test_qwen_threshold_fails_5() -> None:
    assert 5 in osd("qwen").failed
    assert osd("tongyi-qianwen").failed == [5, 6]


def test_category_agrees_with_the_verdict_for_every_full_licence() -> None:
    for lic in kb.all():
        if not lic.full_terms:
            continue
        v = osd(lic)
        assert (lic.category == Category.OPEN_SOURCE) == (v.open_source is True), lic.id
        for f in v.findings:
            if f.result == "fail":
                assert f.clauses, f"{lic.id} fails {f.criterion} without citing a clause"


def test_a_law_only_duty_is_not_a_field_restriction() -> None:
    # Obeying the law (qwen §5.a) is not a restriction on fields of endeavour.
    assert 6 not in osd("qwen").failed


def test_headline_only_licences_are_marked_unknown() -> None:
    minor = License(id="x-minor", name="X", version="1", category=Category.NONCOMMERCIAL_RESEARCH,
                    headline=("research only",))
    v = osd(minor)
    assert v.basis == "headline"
    assert {f.result for f in v.findings} == {"unknown"}
    assert v.open_source is None and v.failed == []
    assert v.to_dict()["category"] == "noncommercial-research"


def test_verdict_changes_when_a_restriction_is_added() -> None:
    base = kb.get("mit")
    restricted = License(id="mit-plus", name="MIT plus", version="", category=Category.OPEN_WEIGHTS_RESTRICTED,
                         full_terms=True, terms=base.terms + (
                             Term(Kind.REVENUE_THRESHOLD, "§9", "big companies pay", {"usd_per_year": 1e6}),))
    assert osd(restricted).failed == [5]


def test_to_dict_shape() -> None:
    d = osd("llama2").to_dict()
    assert d["license"] == "llama2" and d["failed"] == [5, 6] and d["open_source"] is False
    assert len(d["findings"]) == 10 and d["findings"][4]["name"] == CRITERIA[5]
    assert "Not open source" in d["summary"]


def test_osaid_conforms_only_with_everything_released_under_open_terms() -> None:
    full = Released(weights=True, inference_code=True, training_code=True, data_information=True)
    assert osaid("apache-2.0", full).result == "conforms"
    assert osaid("apache-2.0", Released(weights=True, inference_code=True, training_code=False,
                                        data_information=True)).result == "does-not-conform"
    assert osaid("apache-2.0", Released(weights=True, inference_code=True, training_code=True)).result \
        == "insufficient-information"


def test_osaid_llama2_does_not_conform_even_with_everything_released() -> None:
    a = osaid("llama2", Released(True, True, True, True, True))
    assert a.result == "does-not-conform"
    params = next(r for r in a.reasons if r.component == "parameters")
    assert params.status == "not-met" and "§2" in params.clauses
    assert a.to_dict()["osd"]["failed"] == [5, 6]


def test_osaid_closed_weights_and_code_licence() -> None:
    assert osaid("closed-api-only", Released(weights=False)).result == "does-not-conform"
    full = dict(weights=True, inference_code=True, training_code=True, data_information=True)
    assert osaid("mit", Released(**full, code_license="apache-2.0")).result == "conforms"
    bad = osaid("mit", Released(**full, code_license="cc-by-nc-4.0"))
    assert bad.result == "does-not-conform"
    assert next(r for r in bad.reasons if r.component == "code").status == "not-met"


def test_osaid_training_data_is_not_required() -> None:
    a = osaid("apache-2.0", Released(True, True, True, True, training_data=False))
    assert a.result == "conforms"
    assert any(r.component == "training-data" and r.status == "not-required" for r in a.reasons)
