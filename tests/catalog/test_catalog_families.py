"""Catalogue coverage generated from family patterns (families.toml)."""

from __future__ import annotations

import re

import pytest

from aperto import catalog
from aperto.errors import NotFound
from aperto.licenses import kb

# Official repository ids as published on Hugging Face, one or more per family the issue names.
OFFICIAL = {
    "huggyllama/llama-65b": "llama1",
    "meta-llama/Llama-2-13b-chat-hf": "llama2", "meta-llama/Llama-2-70b-chat-hf": "llama2",
    "meta-llama/CodeLlama-34b-Instruct-hf": "llama2", "meta-llama/CodeLlama-7b-Python-hf": "llama2",
    "meta-llama/LlamaGuard-7b": "llama2", "meta-llama/Meta-Llama-Guard-2-8B": "llama3",
    "meta-llama/Llama-Guard-3-8B": "llama3.1", "meta-llama/Llama-Guard-3-1B": "llama3.2",
    "meta-llama/Llama-Guard-4-12B": "llama4",
    "meta-llama/Meta-Llama-3-70B": "llama3", "meta-llama/Llama-3.1-70B": "llama3.1",
    "meta-llama/Llama-3.1-405B-Instruct-FP8": "llama3.1", "meta-llama/Llama-3.2-1B": "llama3.2",
    "meta-llama/Llama-3.2-11B-Vision-Instruct": "llama3.2", "meta-llama/Llama-3.3-70B-Instruct": "llama3.3",
    "meta-llama/Llama-4-Scout-17B-16E-Instruct": "llama4", "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8": "llama4",
    "google/gemma-7b-it": "gemma", "google/gemma-1.1-2b-it": "gemma", "google/gemma-2-27b-it": "gemma",
    "google/gemma-3-12b-pt": "gemma", "google/gemma-3-270m": "gemma",
    "mistralai/Mistral-7B-Instruct-v0.3": "apache-2.0", "mistralai/Mistral-Large-Instruct-2407": "mistral-mrl-0.1",
    "mistralai/Codestral-22B-v0.1": "mistral-mnpl-0.1", "mistralai/Mixtral-8x22B-Instruct-v0.1": "apache-2.0",
    "Qwen/Qwen-7B-Chat": "tongyi-qianwen", "Qwen/Qwen1.5-110B-Chat": "tongyi-qianwen",
    "Qwen/Qwen2-72B-Instruct": "tongyi-qianwen", "Qwen/Qwen2-7B": "apache-2.0", "Qwen/Qwen2.5-3B-Instruct": "qwen-research",
    "Qwen/Qwen2.5-Coder-32B-Instruct": "apache-2.0", "Qwen/Qwen3-235B-A22B": "apache-2.0",
    "tiiuae/falcon-40b-instruct": "apache-2.0", "tiiuae/falcon-180B-chat": "tii-falcon-180b",
    "tiiuae/Falcon3-7B-Instruct": "tii-falcon-llm-license",
    "deepseek-ai/deepseek-llm-67b-chat": "deepseek", "deepseek-ai/DeepSeek-V3": "deepseek",
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B": "mit",
    "microsoft/phi-2": "mit", "microsoft/Phi-3-mini-128k-instruct": "mit", "microsoft/phi-4": "mit",
    "allenai/OLMo-7B": "apache-2.0", "allenai/OLMo-2-1124-13B-Instruct": "apache-2.0",
    "bigcode/starcoder2-15b": "bigcode-openrail-m", "bigcode/starcoderbase": "bigcode-openrail-m",
    "bigscience/bloomz-7b1": "bigscience-bloom-rail-1.0", "bigscience/bloom": "bigscience-bloom-rail-1.0",
    "HuggingFaceTB/SmolLM-360M-Instruct": "apache-2.0", "HuggingFaceTB/SmolLM3-3B": "apache-2.0",
}


@pytest.mark.parametrize("repo,licence", list(OFFICIAL.items()))
def test_official_ids_are_known_with_their_licence(repo: str, licence: str) -> None:
    model = catalog.get(repo)
    assert model.license == licence
    assert catalog.get(repo.upper()).id == model.id          # ids are case-insensitive, as on the Hub


def test_every_model_has_a_known_licence_and_an_iso_release_date() -> None:
    for m in catalog.all():
        assert kb.find(m.license) is not None, m.id
        assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", m.release_date), m.id


def test_release_dates_differ_within_a_family_where_sizes_came_later() -> None:
    assert catalog.get("meta-llama/CodeLlama-70b-hf").release_date == "2024-01-29"
    assert catalog.get("meta-llama/CodeLlama-7b-hf").release_date == "2023-08-24"
    assert catalog.get("tiiuae/falcon-180B").release_date > catalog.get("tiiuae/falcon-7b").release_date


def test_sizes_are_read_from_the_id() -> None:
    assert catalog.get("Qwen/Qwen3-30B-A3B").parameters_b == 30.0
    assert catalog.get("Qwen/Qwen3-30B-A3B").active_parameters_b == 3.0
    assert catalog.get("bigscience/bloom-1b7").parameters_b == 1.7
    assert catalog.get("mistralai/Mixtral-8x7B-v0.1").parameters_b is None   # experts share layers: no total


def test_fully_open_families_release_their_data() -> None:
    olmo = catalog.get("allenai/OLMo-7B")
    assert olmo.released.training_code and olmo.released.training_data
    assert catalog.get("meta-llama/Llama-3.1-8B").released.training_data is False


def test_an_unknown_id_suggests_the_closest_known_ones() -> None:
    with pytest.raises(NotFound) as err:
        catalog.get("meta-llama/Llama-3.1-80B")
    assert "meta-llama/Llama-3.1-70B" in (err.value.hint or "")
    assert catalog.suggest("qwen/qwen2.5-7b-instrcut")[0] == "Qwen/Qwen2.5-7B-Instruct"
