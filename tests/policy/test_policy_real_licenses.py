"""The policy on the knowledge base's real licence data (aperto.licenses.kb)."""

from __future__ import annotations

import pytest

from aperto import catalog
from aperto.errors import UnknownLicense
from aperto.licenses import kb
from aperto.policy import Outcome, Profile, evaluate

GRANT = Outcome.NEEDS_LICENSOR_GRANT
AWO = Outcome.ALLOWED_WITH_OBLIGATIONS


def clauses(decision, outcome: Outcome) -> list[str]:
    return [r.clause for r in decision.reasons if r.outcome == outcome]


def test_llama2_above_threshold_needs_grant_citing_section_2() -> None:
    d = evaluate("llama2", Profile(mau=800_000_000, use="commercial"))
    assert d.outcome == GRANT
    assert clauses(d, GRANT) == ["§2"]
    assert "2023-07-18" in d.reasons[0].text   # measured at the release date


def test_llama2_exactly_700m_does_not_need_grant() -> None:
    d = evaluate("llama2", Profile(mau=700_000_000, use="commercial"))
    assert d.outcome == AWO   # the AUP still binds
    assert clauses(d, GRANT) == []


def test_llama2_affiliates_count() -> None:
    d = evaluate("llama2", Profile(mau=600_000_000, affiliates_mau=200_000_000))
    assert d.outcome == GRANT and "800,000,000" in d.reasons[0].text


def test_llama2_training_other_models_is_prohibited() -> None:
    d = evaluate("llama2", Profile(train_other_models=True))
    assert d.outcome == Outcome.PROHIBITED
    assert clauses(d, Outcome.PROHIBITED) == ["§1.b.v"]


def test_llama3_keeps_the_output_ban() -> None:
    d = evaluate("llama3", Profile(train_other_models=True))
    assert d.outcome == Outcome.PROHIBITED and clauses(d, Outcome.PROHIBITED) == ["§1.b.v"]


def test_llama31_allows_training_with_a_naming_obligation() -> None:
    d = evaluate("llama3.1", Profile(train_other_models=True))
    assert d.outcome == AWO
    naming = [o for o in d.obligations if o.kind == "naming"]
    assert len(naming) == 1 and '"Llama"' in naming[0].text and naming[0].clause == "§1.b.i"


def test_llama31_publishing_under_another_name_is_an_obligation_to_rename() -> None:
    d = evaluate("llama3.1", Profile(publish_finetune=True, derivative_name="acme/Acme-Coder"))
    assert d.outcome == AWO
    assert any(o.kind == "naming" and "Rename" in o.text for o in d.obligations)
    kinds = {o.kind for o in d.obligations}
    assert {"license-copy", "notice", "attribution", "acceptable-use"} <= kinds
    assert any('"Built with Llama"' in o.text for o in d.obligations)


def test_llama3_prefix_is_llama_3() -> None:
    d = evaluate("llama3", Profile(publish_finetune=True, derivative_name="Llama-3-Acme"))
    assert any(o.kind == "naming" and "Keep" in o.text and '"Llama 3"' in o.text for o in d.obligations)
    d = evaluate("llama3", Profile(publish_finetune=True, derivative_name="Llama-Acme"))
    assert any(o.kind == "naming" and "Rename" in o.text for o in d.obligations)


def test_llama32_multimodal_in_the_eu_is_prohibited() -> None:
    vision = catalog.get("meta-llama/Llama-3.2-11B-Vision-Instruct")
    d = evaluate(vision.license, Profile(country="DE"), model=vision)
    assert d.outcome == Outcome.PROHIBITED
    assert clauses(d, Outcome.PROHIBITED) == ["AUP (EU multimodal)"]
    assert evaluate("llama3.2", Profile(country="DE", multimodal=True)).outcome == Outcome.PROHIBITED


def test_llama32_multimodal_outside_the_eu_and_text_only_in_the_eu_are_fine() -> None:
    vision = catalog.get("meta-llama/Llama-3.2-11B-Vision-Instruct")
    assert evaluate("llama3.2", Profile(country="US"), model=vision).outcome == AWO
    text = catalog.get("meta-llama/Llama-3.2-3B-Instruct")
    assert evaluate("llama3.2", Profile(country="DE"), model=text).outcome == AWO


def test_llama4_multimodal_eu() -> None:
    scout = catalog.get("llama-4-scout")
    assert evaluate(scout.license, Profile(country="FR"), model=scout).outcome == Outcome.PROHIBITED


def test_qwen_threshold_is_for_commercial_use() -> None:
    assert evaluate("qwen", Profile(mau=150_000_000, use="commercial")).outcome == GRANT
    assert evaluate("tongyi-qianwen", Profile(mau=150_000_000, use="commercial")).outcome == GRANT
    assert evaluate("tongyi-qianwen", Profile(mau=100_000_000, use="commercial")).outcome != GRANT
    assert evaluate("qwen", Profile(mau=150_000_000, use="research")).outcome != GRANT


def test_tongyi_qianwen_bans_training_other_models() -> None:
    assert evaluate("tongyi-qianwen", Profile(train_other_models=True)).outcome == Outcome.PROHIBITED


def test_cc_by_nc() -> None:
    d = evaluate("cc-by-nc-4.0", Profile(use="commercial"))
    assert d.outcome == Outcome.PROHIBITED and clauses(d, Outcome.PROHIBITED) == ["§1(i)"]
    d = evaluate("cc-by-nc-4.0", Profile(use="research"))
    assert d.outcome == AWO and [o.kind for o in d.obligations] == ["non-commercial"]
    d = evaluate("cc-by-nc-4.0", Profile(use="research", redistribute=True))
    assert d.outcome == AWO and "attribution" in [o.kind for o in d.obligations]


def test_mnpl_commercial_is_prohibited() -> None:
    assert evaluate("mistral-mnpl-0.1", Profile(use="commercial")).outcome == Outcome.PROHIBITED
    assert evaluate("mistral-mnpl-0.1", Profile(use="internal")).outcome == Outcome.PROHIBITED
    assert evaluate("mistral-mnpl-0.1", Profile(use="evaluation")).outcome == AWO


def test_apache_private_use_is_allowed_and_redistribution_has_obligations() -> None:
    d = evaluate("apache-2.0", Profile(use="commercial"))
    assert d.outcome == Outcome.ALLOWED and d.obligations == ()
    d = evaluate("apache-2.0", Profile(use="commercial", redistribute=True))
    assert d.outcome == AWO and [o.kind for o in d.obligations] == ["license-copy"]


def test_gemma_passes_restrictions_downstream() -> None:
    d = evaluate("gemma", Profile(redistribute=True))
    kinds = [o.kind for o in d.obligations]
    assert d.outcome == AWO and "pass-through" in kinds and "acceptable-use" in kinds and "notice" in kinds


def test_rail_pass_through() -> None:
    d = evaluate("bigscience-bloom-rail-1.0", Profile(publish_finetune=True))
    assert "pass-through" in [o.kind for o in d.obligations]


def test_falcon_180b_hosting_needs_a_licence() -> None:
    assert evaluate("tii-falcon-180b", Profile(hosted_service=True)).outcome == GRANT


def test_gpt4_is_prohibited_as_closed() -> None:
    gpt4 = catalog.get("openai/gpt-4")
    d = evaluate(gpt4.license, Profile(use="research"), model=gpt4)
    assert d.outcome == Outcome.PROHIBITED
    assert any("not released" in r.text for r in d.reasons)


def test_unreleased_model_is_prohibited() -> None:
    m = catalog.get("llama-2-34b")
    assert evaluate(m.license, Profile(), model=m).outcome == Outcome.PROHIBITED


def test_not_accepting_the_aup_is_prohibited() -> None:
    d = evaluate("llama3.1", Profile(accepts_aup=False))
    assert d.outcome == Outcome.PROHIBITED and clauses(d, Outcome.PROHIBITED) == ["§1.b.iv"]


def test_unknown_licence_id() -> None:
    with pytest.raises(UnknownLicense):
        evaluate("no-such-licence", Profile())


PROFILES = [
    Profile(),
    Profile(mau=10**9, affiliates_mau=10**9, use="internal", country="DE", train_other_models=True,
            redistribute=True, publish_finetune=True, derivative_name="x", multimodal=True, hosted_service=True),
    Profile(use="research", country="US"),
]


@pytest.mark.parametrize("lic", kb.all(), ids=lambda lic: lic.id)
def test_every_licence_gives_a_decision_whose_reasons_cite_clauses(lic) -> None:
    for profile in PROFILES:
        d = evaluate(lic, profile)
        assert d.reasons, lic.id
        assert all(r.clause.strip() and r.text.strip() for r in d.reasons)
        assert all(o.clause.strip() and o.text.strip() for o in d.obligations)
        if not lic.full_terms:
            assert d.outcome != Outcome.ALLOWED
        assert d.outcome == max((r.outcome for r in d.reasons), key=lambda o: o.rank) or (
            d.outcome == AWO and d.obligations)


def test_threshold_date_is_the_licence_versions_not_the_models() -> None:
    code70 = catalog.get("meta-llama/CodeLlama-70b-hf")
    assert code70.release_date == "2024-01-29"
    d = evaluate(code70.license, Profile(mau=800_000_000), model=code70)
    assert d.outcome == GRANT and "2023-07-18" in d.reasons[0].text and "2024" not in d.reasons[0].text


def test_qwen_output_training_brings_built_with_qwen() -> None:
    d = evaluate("qwen", Profile(train_other_models=True))
    assert d.outcome == AWO
    assert any(o.kind == "attribution" and "Built with Qwen" in o.text for o in d.obligations)
