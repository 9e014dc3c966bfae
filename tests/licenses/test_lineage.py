"""Cards: base models with their relation, the relicensing table, licences in prose."""

from __future__ import annotations

import pytest

from aperto.licenses import lineage
from aperto.licenses.cards import identify_card


def _card(front: str, body: str = "# A model\n") -> str:
    return f"---\n{front.strip()}\n---\n{body}"


def test_a_llama_3_2_merge_declaring_apache_is_a_conflict_governed_by_llama() -> None:
    found = identify_card(_card("license: apache-2.0\nbase_model:\n- DavidAU/L3.2-Rogue-Creative-8B\n"
                                "base_model_relation: merge"))
    assert (found.status, found.id) == ("conflict", "llama3.2")
    base = next(s for s in found.sources if s.kind == "base-model")
    assert "relation: merge" in base.notes


@pytest.mark.parametrize("base,licence", [("Sao10K/L3-8B-Stheno-v3.2", "llama3"), ("x/L3.1-8B-Niitama", "llama3.1"),
                                          ("x/Llama-3.3-70B-Euryale", "llama3.3"), ("x/gemma-2-9b-it-SimPO", "gemma")])
def test_abbreviated_base_names_are_recognised(base: str, licence: str) -> None:
    assert lineage.licence_of(base)[0] == licence


def test_an_mit_card_on_an_apache_base_is_not_a_conflict() -> None:
    found = identify_card(_card("license: mit\nbase_model: Qwen/Qwen3-8B\nbase_model_relation: finetune"))
    assert (found.status, found.id) == ("identified", "mit")
    assert any("apache-2.0" in n and "notices are kept" in n for n in found.notes)


def test_a_copyleft_base_keeps_its_licence() -> None:
    assert lineage.rule("gpl-3.0")[:2] == ("copyleft", False)
    assert lineage.rule("cc-by-sa-4.0")[:2] == ("copyleft", False)
    assert lineage.rule("gemma")[:2] == ("pass-through", False)
    assert lineage.rule("bsd-2-clause")[:2] == ("permissive", True)


def test_a_chain_of_bases_is_followed_through_the_catalogue() -> None:
    found = identify_card(_card("license: mit\nbase_model: deepseek-ai/DeepSeek-R1-Distill-Llama-8B"))
    assert (found.status, found.id) == ("conflict", "llama3.1")
    assert any("catalogue chain" in n for s in found.sources for n in s.notes)
    # a distillation on a permissive (Apache-2.0) Qwen base keeps its own MIT licence
    assert lineage.licence_of("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B")[0] == "mit"


def test_the_relation_is_read_from_hub_tags() -> None:
    front = {"base_model": "meta-llama/Llama-3.1-8B", "tags": ["base_model:quantized:meta-llama/Llama-3.1-8B"]}
    (base,) = lineage.bases(front)
    assert (base.license, base.relation, base.how) == ("llama3.1", "quantized", "catalogue")


def test_a_licence_named_only_in_prose_is_read() -> None:
    body = "# Model\n\n* **License**: [Gemma Terms of Use](https://ai.google.dev/gemma/terms)\n"
    found = identify_card(_card("license: other", body))
    assert (found.id, found.status) == ("gemma", "identified")
    assert found.evidence and "Gemma Terms of Use" in found.evidence[0].text


def test_no_licence_anywhere_stays_unknown() -> None:
    found = identify_card(_card("language: en", "# Some model\n\nTrained on my laptop.\n"))
    assert (found.id, found.status) == (None, "unknown")
