"""Every changed term of an altered copy is listed by its kind, with the official wording and the copy's."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from aperto.cli.main import main
from aperto.licenses.identify import identify_text

LLAMA31 = "meta-llama/llama3_1_LICENSE.txt"
LLAMA2 = "meta-llama/llama2_LICENSE.txt"


def _cut(text: str, start: str, end: str) -> str:
    """The text without the clause from `start` up to (not including) `end`."""
    a, b = text.index(start), text.index(end)
    assert a < b
    return text[:a] + text[b:]


def _first(old: str, new: str) -> Callable[[str], str]:
    def change(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)
    return change


PROHIBITION = ("You must not use the Llama Materials in any product offered to the public, "
               "nor for any commercial purpose whatsoever.\n\n")
# (reference, how the copy is altered, difference kind, term, in the official wording, in the copy's)
CASES: dict[str, tuple[str, Callable[[str], str], str, str, str, str]] = {
    "changed-law": (LLAMA31, lambda t: t.replace("State of California", "State of New York"),
                    "changed", "governing-law", "State of California", "State of New York"),
    "changed-naming-prefix": (LLAMA31, _first("“Llama” at the beginning", "“Acme” at the beginning"),
                              "changed", "naming", "“Llama” at the beginning", "“Acme” at the beginning"),
    "changed-party": (LLAMA2, _first("means Meta Platforms Ireland Limited", "means Acme Holdings Limited"),
                      "changed", "parties", "Meta Platforms Ireland Limited", "Acme Holdings Limited"),
    "changed-grant": ("standard/QwenLM-Qwen_LICENSE_apache-2.0.txt",
                      _first("a perpetual,", "a revocable,"),
                      "changed", "grant", "perpetual", "revocable"),
    "removed-termination": (LLAMA31, lambda t: _cut(t, "6. Term and Termination", "7. Governing Law"),
                            "missing", "termination", "Termination", ""),
    "added-prohibition": (LLAMA31, lambda t: t.replace("7. Governing Law", PROHIBITION + "7. Governing Law"),
                          "added", "prohibited-use", "", "for any commercial purpose"),
    "changed-threshold": (LLAMA2, lambda t: t.replace("700 million", "70 million"),
                          "changed", "number", "700 million", "70 million"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_changed_term_has_both_wordings(shared_dir: Path, case: str) -> None:
    ref, alter, kind, term, official, copy = CASES[case]
    text = (shared_dir / "licenses" / ref).read_text(encoding="utf-8")
    plain = identify_text(text)
    assert plain.status == "identified"
    found = identify_text(alter(text))
    assert (found.id, found.status) == (plain.id, "altered"), found.differences
    match = [d for d in found.differences if d["kind"] == kind and d["term"] == term]
    assert match, found.differences
    d = match[0]
    assert official in d["official"] and copy in d["copy"]
    if not official:
        assert d["official"] == ""        # an added clause: absent from the official text
    if not copy:
        assert d["copy"] == ""            # a removed clause: absent from the copy


def test_an_unchanged_copy_lists_no_term(shared_dir: Path) -> None:
    found = identify_text((shared_dir / "licenses" / LLAMA31).read_text(encoding="utf-8"))
    assert found.status == "identified" and found.differences == []


def test_the_cli_shows_both_wordings(capsys: pytest.CaptureFixture[str], shared_dir: Path, tmp_path: Path) -> None:
    text = (shared_dir / "licenses" / LLAMA31).read_text(encoding="utf-8")
    path = tmp_path / "LICENSE"
    path.write_text(_cut(text.replace("State of California", "State of Nevada"),
                         "6. Term and Termination", "7. Governing Law"), encoding="utf-8")
    assert main(["license", str(path), "--json"]) == 21
    body = json.loads(capsys.readouterr().out)
    terms = {(d["kind"], d["term"]) for d in body["differences"]}
    assert {("changed", "governing-law"), ("missing", "termination")} <= terms
    assert main(["license", str(path)]) == 21
    out = capsys.readouterr().out
    assert 'official:  "under the laws of the State of California' in out
    assert 'this copy: "under the laws of the State of Nevada' in out
    assert "this copy: (absent)" in out


YI = Path(__file__).resolve().parents[1] / "data" / "licenses-wild" / "github" / "Yi_MODEL_LICENSE_AGREEMENT"


def test_yi_is_known_with_its_revision_and_terms() -> None:
    text = YI.read_text(encoding="utf-8")
    found = identify_text(text)
    assert (found.id, found.version, found.status, found.revision) == ("yi-license", "2.1", "identified", "2023-11-23")
    english = identify_text(text[:text.index("Yi系列模型社区许可协议")])
    assert (english.id, english.status) == ("yi-license", "identified")      # the Chinese half is a tail
    moved = identify_text(text.replace("laws of the mainland of the People's Republic of China",
                                       "laws of the Republic of Singapore", 1))
    assert moved.status == "altered"
    law = next(d for d in moved.differences if d["term"] == "governing-law")
    assert "People's Republic of China" in law["official"] and "Singapore" in law["copy"]


def test_a_real_template_copy_shows_its_changed_party_and_naming_prefix() -> None:
    # CodeGeeX4's licence is the GLM-4 licence with its own team as licensor and its own name prefix
    found = identify_text((YI.parent / "THUDM_CodeGeeX4_MODEL_LICENSE").read_text(encoding="utf-8"))
    assert (found.id, found.status) == ("glm-4", "altered")
    by_term = {d["term"]: d for d in found.differences if d["term"]}
    assert "glm-4-9b Model Team" in by_term["parties"]["official"] and "CodeGeeX Team" in by_term["parties"]["copy"]
    assert '"glm-4"' in by_term["naming"]["official"] and '"CodeGeeX4"' in by_term["naming"]["copy"]
