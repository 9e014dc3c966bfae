"""Scores marked verified are re-checked against the model cards in the shared corpus."""

from __future__ import annotations

import re
from pathlib import Path

from aperto import catalog


def _cells(row: str) -> list[str]:
    return re.findall(r"\d+\.\d", row)


def test_llama3_instruct_humaneval_matches_its_model_card(shared_dir: Path) -> None:
    card = (shared_dir / "licenses" / "model-cards" / "meta-llama__Meta-Llama-3-8B-Instruct.md").read_text()
    instruct = card[card.index("### Instruction tuned models"):]
    flat = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", instruct))
    header = flat[:flat.index("MMLU")]
    columns = re.findall(r"Llama \d+ \d+B", header)
    row = flat[flat.index("HumanEval (0-shot)"):][:80]
    values = dict(zip(columns, _cells(row), strict=False))
    assert catalog.get("meta-llama/Meta-Llama-3-8B-Instruct").scores[0].value == float(values["Llama 3 8B"])
    assert catalog.get("meta-llama/Meta-Llama-3-70B-Instruct").scores[0].value == float(values["Llama 3 70B"])


def test_llama31_and_33_humaneval_match_the_33_model_card(shared_dir: Path) -> None:
    card = (shared_dir / "licenses" / "model-cards" / "unsloth__Llama-3.3-70B-Instruct-GGUF.md").read_text()
    lines = card.splitlines()
    header = next(line for line in lines if "Llama 3.1 8B Instruct" in line and line.startswith("|"))
    row = next(line for line in lines if "| HumanEval |" in line)
    names = [c.strip() for c in header.strip("|").split("|")][4:]
    values = [float(c.strip()) for c in row.strip("|").split("|")[4:]]
    by_name = dict(zip(names, values, strict=True))
    expect = {
        "Llama 3.1 8B Instruct": "meta-llama/Llama-3.1-8B-Instruct",
        "Llama 3.1 70B Instruct": "meta-llama/Llama-3.1-70B-Instruct",
        "Llama-3.3 70B Instruct": "meta-llama/Llama-3.3-70B-Instruct",
        "Llama 3.1 405B Instruct": "meta-llama/Llama-3.1-405B-Instruct",
    }
    for column, model_id in expect.items():
        score = catalog.get(model_id).scores[0]
        assert score.value == by_name[column], model_id
        assert score.verified
