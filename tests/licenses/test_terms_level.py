""""Altered" only when the terms differ; unknown stays unknown; paraphrases, translations, revisions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aperto.licenses.identify import EXIT_CODES, identify_path, identify_text

DATA = Path(__file__).resolve().parents[1] / "data"
WILD = DATA / "licenses-wild"
TRANSLATIONS = DATA / "licenses-translations"


def _shared(shared_dir: Path, rel: str) -> str:
    return (shared_dir / "licenses" / rel).read_text(encoding="utf-8")


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


FORMATS = {
    "markdown-escaped-numbers": lambda t: re.sub(r"(?m)^(\s*)(\d{1,2})\. ", r"\1\2\\. ", t),
    "no-title-line": lambda t: t.strip().split("\n", 1)[1],
    "copyright-line-above": lambda t: "Copyright (c) 2025 Example Labs. All rights reserved.\n\n" + t,
    "html-page": lambda t: ("<html><head><title>License</title></head><body><nav>Home | Models | Docs</nav>"
                            + "".join(f"<p>{p}</p>" for p in _paragraphs(t)) + "<footer>Contact</footer></body></html>"),
    "re-wrapped-40": lambda t: "\n".join(re.findall(r".{1,40}(?:\s|$)", " ".join(t.split()))),
    "markdown-headings": lambda t: "\n\n".join(f"## {p.strip()}" if len(p) < 80 else p for p in _paragraphs(t)),
}
TEXTS = ["shared:meta-llama/llama2_LICENSE.txt", "shared:meta-llama/llama3_1_LICENSE.txt",
         "shared:google-gemma/scancode_gemma-tou-2025-03-24.txt", "wild:debian/GPL-3", "wild:pypi/bidict_LICENSE",
         "wild:pypi/paho_epl-v20", "wild:pypi/resolvelib_LICENSE"]


def _text(shared_dir: Path, ref: str) -> str:
    where, rel = ref.split(":", 1)
    return _shared(shared_dir, rel) if where == "shared" else (WILD / rel).read_text(encoding="utf-8")


@pytest.mark.parametrize("ref", TEXTS)
@pytest.mark.parametrize("form", list(FORMATS))
def test_formatting_never_alters(shared_dir: Path, ref: str, form: str) -> None:
    plain = identify_text(_text(shared_dir, ref))
    assert plain.status == "identified"
    found = identify_text(FORMATS[form](_text(shared_dir, ref)))
    assert (found.id, found.status) == (plain.id, "identified"), found.differences


def test_a_changed_party_is_listed_with_both_wordings(shared_dir: Path) -> None:
    text = _shared(shared_dir, "meta-llama/llama2_LICENSE.txt").replace("700 million", "70 million")
    found = identify_text(text)
    assert found.status == "altered"
    change = next(d for d in found.differences if d["kind"] == "changed")
    assert change["text"] == "70 million" and "700 million" in change["why"]


LLAMA2_REWRITE = """
You may use Llama 2 for free, anywhere in the world, and you may copy it, share it, change it and build
new works from it. Whoever gets it from you also gets a copy of these terms, and you put a Notice file
next to it. You follow the law and the acceptable use policy, and you do not use Llama 2 or what it
produces to make any other large language model better, apart from Llama 2 itself and its derivatives.

If your products or your affiliates' products had more than 700 million monthly active users in the
calendar month before July 18, 2023, you have to ask Meta for a licence first; Meta decides alone.
Meta gives no warranty and is not liable for damages. You get no right to Meta's trademarks. If you sue
Meta claiming that Llama 2 infringes your rights, your licence ends. Meta may end this agreement if you
break it; you then delete the materials. The law of California applies and the courts of California
decide any dispute.
"""


def test_a_paraphrase_is_paraphrased_never_identified(shared_dir: Path) -> None:
    paras = _paragraphs(_shared(shared_dir, "meta-llama/llama2_LICENSE.txt"))
    opening = "\n\n".join(paras[:4])        # the opening verbatim, the rest in other words
    found = identify_text(opening + "\n\n" + LLAMA2_REWRITE * 2)
    assert (found.id, found.status) == ("llama2", "paraphrased")
    assert any("official text governs" in n for n in found.notes)
    assert found.exit_code == EXIT_CODES["paraphrased"] != EXIT_CODES["identified"]


def test_a_rewrite_without_the_terms_is_not_a_paraphrase(shared_dir: Path) -> None:
    paras = _paragraphs(_shared(shared_dir, "meta-llama/llama2_LICENSE.txt"))
    other = ("You may use this model only for teaching in schools, never for profit. "
             "Any dispute goes to the courts of Geneva under Swiss law. ") * 20
    found = identify_text("\n\n".join(paras[:4]) + "\n\n" + other)
    assert found.status in ("altered", "unknown")


def test_borrowed_sentences_are_unknown_with_a_hint(shared_dir: Path) -> None:
    paras = _paragraphs(_shared(shared_dir, "meta-llama/llama3_1_LICENSE.txt"))
    own = ("This model may be used by members of the Example Cooperative for any purpose they agree on at their "
           "yearly meeting, and by nobody else. Membership is open to anyone who pays the yearly fee. ") * 12
    found = identify_text(own + "\n\n" + "\n\n".join(paras[2:5]) + "\n\n" + own)
    assert (found.id, found.status) == (None, "unknown")
    assert found.resembles == "llama3.1"


@pytest.mark.parametrize("path", sorted(TRANSLATIONS.glob("*.txt")), ids=lambda p: p.name)
def test_translations_are_read_through_their_terms(path: Path) -> None:
    lang, family = path.stem.split("_", 1)
    found = identify_path(path)
    assert (found.id, found.status, found.language) == (family, "translation", lang)
    assert any("official text governs" in n for n in found.notes)
    assert not found.differences           # every anchor (name, date, threshold, law, licensor) was read


def test_a_translation_with_a_changed_threshold_says_so() -> None:
    text = (TRANSLATIONS / "it_llama2.txt").read_text(encoding="utf-8").replace("700 milioni", "900 milioni")
    found = identify_text(text)
    assert (found.id, found.status) == ("llama2", "translation")
    assert any("700 million" in d["why"] for d in found.differences)


def test_english_text_is_never_called_a_translation() -> None:
    found = identify_text("Meta released Llama 2 on July 18, 2023 in California, and 700 million users "
                          "is the number everybody quotes about it.")
    assert found.status != "translation"


@pytest.mark.parametrize("rel,date", [("meta-llama/llama2_USE_POLICY.md", "2023-07-18"),
                                      ("google-gemma/scancode_gemma-tou-2024-04-01.txt", "2024-04-01"),
                                      ("google-gemma/scancode_gemma-tou-2025-03-24.txt", "2025-03-24")])
def test_a_known_revision_is_identified_as_that_revision(shared_dir: Path, rel: str, date: str) -> None:
    found = identify_text(_shared(shared_dir, rel))
    assert (found.status, found.revision) == ("identified", date)


def test_a_revision_that_only_moves_contact_links_is_not_altered(shared_dir: Path) -> None:
    text = _shared(shared_dir, "meta-llama/llama3_2_USE_POLICY.md")
    links = re.findall(r"https?://[^\s)\]]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text)
    assert len(links) >= 3
    moved = re.sub(r"https?://[^\s)\]]+", "https://example.org/report", text)
    moved = re.sub(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", "reports@example.org", moved)
    found = identify_text(moved)
    assert (found.id, found.status) == ("llama3.2", "identified")
