"""The catalogue of well-known models."""

from __future__ import annotations

import pytest

from aperto import catalog
from aperto.errors import NotFound
from aperto.licenses import kb

# From /work/shared/design.md, "Published HumanEval pass@1".
DESIGN_SCORES = {
    "openai/gpt-4": 67.0, "openai/gpt-3.5": 48.1,
    "meta-llama/Llama-2-7b-hf": 12.8, "meta-llama/Llama-2-13b-hf": 18.3, "llama-2-34b": 22.6,
    "meta-llama/Llama-2-70b-hf": 29.9,
    "meta-llama/CodeLlama-7b-hf": 33.5, "meta-llama/CodeLlama-13b-hf": 36.0, "meta-llama/CodeLlama-34b-hf": 48.8,
    "meta-llama/CodeLlama-70b-hf": 53.0,
    "meta-llama/Meta-Llama-3-8B-Instruct": 62.2, "meta-llama/Meta-Llama-3-70B-Instruct": 81.7,
    "meta-llama/Llama-3.1-8B-Instruct": 72.6, "meta-llama/Llama-3.1-70B-Instruct": 80.5,
    "meta-llama/Llama-3.1-405B-Instruct": 89.0,
}


def test_every_licence_id_exists_in_the_knowledge_base() -> None:
    missing = [(m.id, m.license) for m in catalog.all() if kb.find(m.license) is None]
    assert missing == []


def test_ids_are_kb_ids_not_aliases() -> None:
    assert all(kb.get(m.license).id == m.license for m in catalog.all())


# Added beyond design.md, checked against a corpus copy of its model card.
EXTRA_SCORES = {"meta-llama/Llama-3.3-70B-Instruct": 88.4}


def test_published_scores_match_design_md() -> None:
    got = {p.model: p.score.value for p in catalog.published_scores("humaneval")}
    assert got == DESIGN_SCORES | EXTRA_SCORES


def test_every_score_has_a_source_and_says_whether_it_was_checked() -> None:
    scores = [s for m in catalog.all() for s in m.scores]
    assert len(scores) == len(DESIGN_SCORES) + len(EXTRA_SCORES)
    for s in scores:
        assert s.source and s.url.startswith("https://")
        assert (s.benchmark, s.metric) == ("humaneval", "pass@1")
        if s.verified:
            assert "shared corpus" in s.note
        else:
            assert "not re-checked" in s.note
    # the papers (Llama 2, Code Llama, GPT-4) are not in the corpus: those stay unverified
    assert not catalog.get("openai/gpt-4").scores[0].verified
    assert not catalog.get("meta-llama/Llama-2-7b-hf").scores[0].verified


def test_published_scores_sorted_highest_first() -> None:
    values = [p.score.value for p in catalog.published_scores()]
    assert values == sorted(values, reverse=True) and values[0] == 89.0
    assert catalog.published_scores("mbpp") == []


def test_lookup_by_alias_case_and_url() -> None:
    m = catalog.get("meta-llama/Llama-2-7b-hf")
    assert catalog.get("META-LLAMA/llama-2-7b-HF") is m
    assert catalog.get("llama-2-7b") is m
    assert catalog.get("https://huggingface.co/meta-llama/Llama-2-7b-hf") is m
    assert catalog.get("meta-llama/Meta-Llama-3.1-8B-Instruct").id == "meta-llama/Llama-3.1-8B-Instruct"


def test_unknown_model_raises_not_found_with_hint() -> None:
    with pytest.raises(NotFound) as info:
        catalog.get("meta-llama/Llama-9-1T")
    assert info.value.hint and info.value.exit_code == 4
    assert catalog.find("nope") is None


def test_required_models_present() -> None:
    required = [
        "meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-13b-hf", "meta-llama/Llama-2-70b-hf",
        "meta-llama/Llama-3.2-1B-Instruct", "meta-llama/Llama-3.3-70B-Instruct",
        "meta-llama/Llama-4-Maverick-17B-128E-Instruct", "mistralai/Mistral-7B-v0.1", "tiiuae/falcon-7b",
        "tiiuae/falcon-40b", "tiiuae/falcon-180B", "bigscience/bloom", "google/gemma-7b", "allenai/OLMo-7B",
        "bigcode/starcoder", "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-72B-Instruct",
        "HuggingFaceTB/SmolLM2-135M-Instruct", "EleutherAI/pythia-6.9b",
    ]
    for rid in required:
        assert catalog.get(rid).id == rid


def test_facts_that_matter_for_policy() -> None:
    assert catalog.get("llama-2-34b").weights_released is False
    assert catalog.get("openai/gpt-4").released.weights is False
    assert catalog.get("meta-llama/Llama-3.2-11B-Vision-Instruct").multimodal is True
    assert catalog.get("meta-llama/Llama-3.2-3B-Instruct").multimodal is False
    assert catalog.get("llama-4-maverick").multimodal is True
    assert catalog.get("Qwen/Qwen2.5-72B-Instruct").license == "qwen"
    assert catalog.get("Qwen/Qwen2.5-7B-Instruct").license == "apache-2.0"
    assert catalog.get("tiiuae/falcon-180B").license == "tii-falcon-180b"
    olmo = catalog.get("allenai/OLMo-7B").released
    assert all(olmo.to_dict().values())
    assert all(m.weights_hosted_here is False for m in catalog.all())


def test_release_dates_are_iso_and_ids_unique() -> None:
    from datetime import date

    ids = catalog.ids()
    assert len(ids) == len(set(ids))
    for m in catalog.all():
        date.fromisoformat(m.release_date)


def test_released_maps_onto_verdict_released() -> None:
    from aperto.licenses import verdict

    r = catalog.released("allenai/OLMo-7B")
    assert isinstance(r, verdict.Released)
    r2 = catalog.released(catalog.get("openai/gpt-4"))
    assert r != r2


def test_to_dict_round_trip_is_json_safe() -> None:
    import json

    body = json.loads(json.dumps(catalog.get("openai/gpt-4").to_dict()))
    assert body["license"] == "closed-api-only" and body["scores"][0]["value"] == 67.0
