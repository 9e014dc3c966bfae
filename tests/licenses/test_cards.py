"""Model cards: declared licences (scalar, list, other + license_name, missing), embedded texts, conflicts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from aperto.errors import BadInput
from aperto.licenses.cards import identify_card
from aperto.licenses.identify import identify_path

CARDS = Path(__file__).resolve().parents[2].parent / "shared" / "licenses" / "model-cards"

# the declared licence, as our id (HF id, or the license_name of `license: other`)
EXPECTED_DECLARED = {
    "mrl": "mistral-mrl-0.1", "deepseek-license": "deepseek", "gemma-terms-of-use": "gemma", "llama-2": "llama2",
}
# cards whose declaration disagrees with their base model (manifest notes: DISAGREEMENT), and what governs
CONFLICTS = {
    "model-cards/DavidAU__Llama-3.2-9B-Uncensored-Brainstorm-Alpha-GGUF.md": "llama3.2",
    "model-cards/soob3123__amoral-gemma3-12B-v2-qat-Q4_0-GGUF.md": "gemma",
    "model-cards/deepse__CodeUp-Llama-2-13b-chat-hf.md": "llama2",
}
# DISAGREEMENT in the manifest, but the base's licence allows relicensing: not a conflict (MIT on an Apache-2.0 base)
RELICENSED = {"model-cards/ubergarm__Qwen3-235B-A22B-GGUF.md": "apache-2.0"}
# `license: other` with no name, but the card's text names the licence
IN_PROSE = {"model-cards/stabilityai__stablelm-zephyr-3b.md": "stability-ai-nc-research-community"}
# DISAGREEMENT in the manifest, but with a repo file (manifest.yaml) that is not in the card itself
NOT_IN_CARD = {"model-cards/mlabonne__Beyonder-4x7B-v2.md", "model-cards/meta-llama__Meta-Llama-3-8B-Instruct.md"}


def _rows() -> list[dict[str, str]]:
    path = CARDS / "MANIFEST.tsv"
    return list(csv.DictReader(path.open(encoding="utf-8"), delimiter="\t")) if path.is_file() else []


def _declared(row: dict[str, str]) -> str | None:
    lic = row["license"]
    if lic.startswith("["):
        lic = json.loads(lic)[0]
    if lic == "other" and row["license_name"]:
        lic = row["license_name"]
    if not lic:
        return None
    return EXPECTED_DECLARED.get(lic, lic)


@pytest.mark.parametrize("row", _rows(), ids=lambda r: r["path"].split("/")[-1])
def test_each_card_declaration_is_read(shared_dir: Path, row: dict[str, str]) -> None:
    found = identify_path(shared_dir / "licenses" / row["path"])
    declared = found.sources[0]
    assert declared.source.endswith("(declared)")
    expected = _declared(row)
    if expected == "other":      # `license: other` with no name: only the card's prose can name it
        assert declared.id is None
        assert (found.id, found.status) == (IN_PROSE.get(row["path"]), "identified" if row["path"] in IN_PROSE
                                            else "unknown")
        return
    if expected is None:         # no license key: the gated prompt holds the licence (hugging-quants)
        assert declared.id is None
        assert (found.id, found.status) == ("llama3.2", "identified")
        return
    assert declared.id == expected
    if row["path"] in CONFLICTS:
        assert found.status == "conflict"
        assert found.id == CONFLICTS[row["path"]]
        assert (found.governing or "").startswith(("base_model", "title"))
    else:
        assert found.status == "identified"
        assert found.id == expected
    if row["path"] in RELICENSED:
        assert any(RELICENSED[row["path"]] in n and "notices are kept" in n for n in found.notes)


def test_declaration_evidence_points_at_the_license_line(shared_dir: Path) -> None:
    path = shared_dir / "licenses" / "model-cards" / "unsloth__Qwen3-8B-GGUF.md"
    raw = path.read_bytes().decode("utf-8")
    assert "\r\n" in raw  # a CRLF card
    found = identify_card(raw, source=path.name)
    ev = found.evidence[0]
    assert raw[ev.start:ev.end] == ev.text and ev.text.startswith("license: apache-2.0")


def test_embedded_licence_text_is_identified_with_version(shared_dir: Path) -> None:
    found = identify_path(shared_dir / "licenses" / "model-cards" / "bartowski__Meta-Llama-3.1-8B-Instruct-GGUF.md")
    assert (found.id, found.status) == ("llama3.1", "identified")
    assert found.version.startswith("3.1")
    assert any(s.kind == "license-text" and s.id == "llama3.1" for s in found.sources)


def test_card_label_against_its_own_licence_text_is_a_conflict(shared_dir: Path) -> None:
    raw = (shared_dir / "licenses" / "model-cards" / "meta-llama__Meta-Llama-3-8B-Instruct.md").read_text()
    relabelled = raw.replace("license: llama3\n", "license: mit\n", 1)
    found = identify_card(relabelled)
    assert (found.status, found.id) == ("conflict", "llama3")
    assert "licence text in the card" in (found.governing or "")


def test_list_and_other_with_name() -> None:
    assert identify_card("---\nlicense:\n- gemma\n---\nbody\n").id == "gemma"
    found = identify_card("---\nlicense: other\nlicense_name: qwen-research\nlicense_link: LICENSE\n---\n")
    assert (found.id, found.status) == ("qwen-research", "identified")
    two = identify_card("---\nlicense: [mit, apache-2.0]\n---\n")
    assert two.status == "conflict"


@pytest.mark.parametrize("card,words", [
    ("---\nlicense: [unclosed\n---\nbody", "invalid YAML"),
    ("---\nlicense: mit\nno closing line\n", "not closed"),
    ("---\n- a\n- b\n---\n", "not a mapping"),
])
def test_invalid_front_matter_is_bad_input(card: str, words: str) -> None:
    with pytest.raises(BadInput) as err:
        identify_card(card, source="README.md")
    assert words in err.value.message and "README.md" in err.value.message
    assert err.value.exit_code == 3
