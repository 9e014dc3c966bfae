"""Identification of licence texts: the whole corpus, versions, formatting noise, altered copies."""

from __future__ import annotations

import csv
import html
import re
import textwrap
from pathlib import Path

import pytest

from aperto.licenses.identify import identify_text

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "licenses"


def _manifest() -> list[dict[str, str]]:
    path = CORPUS / "MANIFEST.tsv"
    if not path.is_file():
        return []
    return list(csv.DictReader(path.open(encoding="utf-8"), delimiter="\t"))


def _read(shared_dir: Path, rel: str) -> str:
    return (shared_dir / "licenses" / rel).read_text(encoding="utf-8", errors="replace")


LLAMA = {
    "llama2": "meta-llama/llama2_LICENSE.txt",
    "llama3": "meta-llama/llama3_LICENSE.txt",
    "llama3.1": "meta-llama/llama3_1_LICENSE.txt",
    "llama3.2": "meta-llama/llama3_2_LICENSE.txt",
    "llama3.3": "meta-llama/llama3_3_LICENSE.txt",
    "llama4": "meta-llama/llama4_LICENSE.txt",
}


@pytest.mark.parametrize("row", _manifest(), ids=lambda r: r["relative_path"])
def test_every_corpus_text_is_its_manifest_family(shared_dir: Path, row: dict[str, str]) -> None:
    text = _read(shared_dir, row["relative_path"])
    found = identify_text(text, source=row["relative_path"])
    assert found.id == row["license_family_id"]
    assert found.status == "identified"
    assert found.confidence >= 0.9


def test_manifest_is_present_or_skipped(shared_dir: Path) -> None:
    assert len(_manifest()) == 125


def test_evidence_spans_point_into_the_users_text(shared_dir: Path) -> None:
    text = "Some header the user pasted.\n\n" + _read(shared_dir, LLAMA["llama3.1"])
    found = identify_text(text)
    assert found.evidence
    for ev in found.evidence:
        assert 0 <= ev.start < ev.end <= len(text)
        if not ev.why.startswith("this region"):  # the region's text is shortened for display
            assert text[ev.start:ev.end] == ev.text
    assert min(ev.start for ev in found.evidence) >= len("Some header the user pasted.")
    assert any("3.1" in ev.text for ev in found.evidence)


@pytest.mark.parametrize("lid", list(LLAMA))
def test_llama_versions_are_told_apart(shared_dir: Path, lid: str) -> None:
    found = identify_text(_read(shared_dir, LLAMA[lid]))
    assert (found.id, found.status) == (lid, "identified")
    assert found.version.startswith(lid.removeprefix("llama"))


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


NOISE = {
    "reflowed": lambda t: textwrap.fill(" ".join(t.split()), 61),
    "markdown": lambda t: "# Licence\n\n" + "\n\n".join(f"**{p.strip()}**" for p in _paragraphs(t)),
    "html": lambda t: "<html><body>" + "".join(f"<p>{html.escape(p)}</p>" for p in _paragraphs(t)) + "</body></html>",
    "curly-quotes": lambda t: t.replace('"', "\u201c").replace("'", "\u2019"),
    "header-pasted": lambda t: "This model is released under the licence below. Please read it.\n\n" + t,
    "crlf-upper": lambda t: t.replace("\n", "\r\n").upper(),
}


@pytest.mark.parametrize("lid", ["llama3", "llama3.2", "llama3.3", "llama4"])
@pytest.mark.parametrize("noise", list(NOISE))
def test_formatting_noise_does_not_change_the_answer(shared_dir: Path, lid: str, noise: str) -> None:
    found = identify_text(NOISE[noise](_read(shared_dir, LLAMA[lid])))
    assert (found.id, found.status) == (lid, "identified")


@pytest.mark.parametrize("rel,lid", [(LLAMA["llama3.3"], "llama3.3"), ("standard/scancode_apache-2.0.txt", "apache-2.0"),
                                     ("google-gemma/scancode_gemma-tou-2024-04-01.txt", "gemma")])
def test_truncated_tail_is_still_identified_with_a_note(shared_dir: Path, rel: str, lid: str) -> None:
    text = _read(shared_dir, rel)
    found = identify_text(text[: int(len(text) * 0.8)])
    assert (found.id, found.status) == (lid, "identified")
    assert found.confidence < 0.9
    assert any("truncated" in n for n in found.notes)


@pytest.mark.parametrize("lid", list(LLAMA))
def test_changed_threshold_is_altered_and_says_what_changed(shared_dir: Path, lid: str) -> None:
    text = _read(shared_dir, LLAMA[lid])
    assert "700 million" in text
    found = identify_text(text.replace("700 million", "7 billion"))
    assert found.status == "altered"
    changed = [d for d in found.differences if d["kind"] == "changed"]
    assert changed and "700 million" in changed[0]["why"]
    assert changed[0]["text"] == "7 billion"


def _remove(text: str, pattern: str) -> str:
    m = re.search(pattern, text, re.S)
    assert m, pattern
    return text[: m.start()] + text[m.end():]


@pytest.mark.parametrize("lid", ["llama2", "llama3.1", "llama4"])
def test_a_clause_removed_in_the_middle_is_altered(shared_dir: Path, lid: str) -> None:
    text = _read(shared_dir, LLAMA[lid])
    # drop the additional commercial terms clause (the 700M users threshold), keep the rest
    altered = _remove(text, r"2\. Additional Commercial Terms\..*?(?=\n\s*3\. )")
    found = identify_text(altered)
    assert found.id == lid
    assert found.status == "altered"
    assert any(d["kind"] == "missing" for d in found.differences)


def test_a_clause_removed_from_mit_is_altered(shared_dir: Path) -> None:
    text = _read(shared_dir, "standard/scancode_mit.txt")
    found = identify_text(_remove(text, r"including\s+without\s+limitation.*?Software,\s+and\s"))
    assert (found.id, found.status) == ("mit", "altered")


def test_mit_without_its_notice_condition_is_altered_not_mit(shared_dir: Path) -> None:
    # MIT minus its notice condition is MIT No Attribution plus "subject to the following conditions:"
    text = _read(shared_dir, "standard/scancode_mit.txt")
    found = identify_text(_remove(text, r"The above copyright notice.*?Software\.\s"))
    assert found.status == "altered"
    assert found.id in ("mit", "mit-0")


@pytest.mark.parametrize("lid", ["llama2", "llama3.2"])
def test_abridged_copy_is_altered(shared_dir: Path, lid: str) -> None:
    paras = _paragraphs(_read(shared_dir, LLAMA[lid]))
    found = identify_text("\n\n".join(paras[::2]))
    assert found.status == "altered"
    assert found.id == lid


def test_unrelated_text_is_unknown() -> None:
    text = ("This repository holds the training scripts for a small model. Run make to build it, "
            "then start the server with the default port. Contributions are welcome; open an issue first. ") * 5
    found = identify_text(text)
    assert found.status == "unknown"
    assert found.id is None


def test_acceptable_use_policy_is_its_licence_family(shared_dir: Path) -> None:
    found = identify_text(_read(shared_dir, "meta-llama/llama3_2_USE_POLICY.md"))
    assert (found.id, found.document) == ("llama3.2", "acceptable-use-policy")
    lic = identify_text(_read(shared_dir, LLAMA["llama3.2"]))
    assert lic.document == "license"


@pytest.mark.parametrize("lid", ["llama3.1", "llama4"])
def test_a_clause_added_in_the_middle_is_altered(shared_dir: Path, lid: str) -> None:
    text = _read(shared_dir, LLAMA[lid])
    cut = text.index("3. Disclaimer of Warranty")
    added = ("You may use the Llama Materials only for non-commercial research and never in a product "
             "offered to the public.\n\n")
    user = text[:cut] + added + text[cut:]
    found = identify_text(user)
    assert (found.id, found.status) == (lid, "altered")
    diff = [d for d in found.differences if d["kind"] == "added"]
    assert diff and added.strip() in user[diff[0]["start"]:diff[0]["end"]]
