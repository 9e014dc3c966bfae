"""Reading a licence's key terms without relying on its wording: translations and paraphrases.

A verbatim copy is matched by its shingles (see ``identify``). A translation or a
rewrite shares almost no shingles with the reference, but its terms still show
through language-independent anchors: the product name and version, the
release date, the user threshold, the governing law's place. A date is compared
as far as the text writes it (day, month and year in the language's formats;
else the year alone). The values come
from the knowledge base (``kb``); the few words a language writes them with
(million, users, the place names) come from ``data/translations/terms.toml``.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aperto.licenses import kb, revisions
from aperto.licenses.normalize import phrase_words
from aperto.licenses.terms import Kind

DATA_FILE = Path(__file__).resolve().parent / "data" / "translations" / "terms.toml"
NAME_WINDOW = 4        # the name's tokens must occur within this many tokens ("Licenza Apache, Versione 2.0")
MIN_MARKERS = 0.04     # share of a text's words that are a language's function words before we name the language
IDENTITY = ("name", "date", "licensor")   # anchors that say which document it is, not what it requires
NEAR = 4               # a threshold number and its "million" word are at most this many tokens apart


@dataclass(frozen=True)
class Anchor:
    label: str            # "name", "date", "user threshold", "governing law", "licensor"
    expected: str         # what the licence says, in our words ("700 million", "California")


@dataclass(frozen=True)
class Reading:
    family: str
    language: str                 # ISO 639-1 code
    found: tuple[Anchor, ...]
    missing: tuple[Anchor, ...]

    def keeps_terms(self) -> bool:
        """Every operative anchor (threshold, law) is there, or, for a family without any, most anchors are."""
        operative = [a for a in self.found + self.missing if a.label not in IDENTITY]
        if operative:
            return all(a in self.found for a in operative)
        return len(self.found) > len(self.missing)

    @property
    def language_name(self) -> str:
        return str(_data()["languages"][self.language]["name"])


@functools.cache
def _data() -> dict[str, Any]:
    return tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))


def language(words: list[str]) -> str:
    """The language whose function words are commonest in `words` ("en" when none stands out)."""
    if not words:
        return "en"
    counts = {code: sum(1 for w in words if w in set(lang["markers"])) for code, lang in _data()["languages"].items()}
    best = max(counts, key=lambda c: counts[c])
    return best if counts[best] >= MIN_MARKERS * len(words) else "en"


def _has_name(words: list[str], name: list[str]) -> bool:
    for i, w in enumerate(words):
        if w != name[0]:
            continue
        window = words[i:i + NAME_WINDOW + len(name)]
        pos = 0
        for token in window:
            if pos < len(name) and token == name[pos]:
                pos += 1
        if pos == len(name):
            return True
    return False


def _has_threshold(words: list[str], users: int, lang: dict[str, Any]) -> bool:
    millions = users // 1_000_000
    digits = str(users)
    for i, w in enumerate(words):
        if w == digits:
            return True
        near = words[i + 1:i + 1 + NEAR]
        if w == str(millions) and any(m in near for m in lang["million"]):
            return True
        if millions % 100 == 0 and w == str(millions // 100) and any(m in near[:2] for m in lang.get("hundred_million", [])):
            return True
    return False


def _phrase_in(words: list[str], phrase: str) -> bool:
    parts = phrase.split()
    k = len(parts)
    return any(words[i:i + k] == parts for i in range(len(words) - k + 1))


Date = tuple[int, int, int]     # (year, month, day); 0 where the text or the record does not say


@functools.cache
def _months(lang: str) -> dict[str, int]:
    """A language's month names (each spelling) -> 1..12."""
    return {n: k + 1 for k, month in enumerate(_data()["languages"][lang]["months"]) for n in month.split("|")}


@functools.cache
def _date_patterns(lang: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The date formats of a language, each with the order of its groups (y, m, d)."""
    names = "|".join(re.escape(n) for n in _months(lang))
    out = [(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)", "ymd"),
           (r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*[日号])?", "ymd")]
    if names:
        out += [(rf"(?<!\d)(\d{{1,2}})(?:\.|er|º)?\s+(?:de\s+)?({names}),?\s+(?:de\s+|del\s+)?(\d{{4}})(?!\d)", "dmy"),
                (rf"\b({names})\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)", "mdy"),
                (rf"\b({names})\s+(?:de\s+|del\s+)?(\d{{4}})(?!\d)", "my")]
    # 07/18/2023 in English, 18/07/2023 or 18.07.2023 elsewhere
    out.append((r"(?<!\d)(\d{1,2})[./](\d{1,2})[./](\d{4})(?!\d)", "mdy" if lang == "en" else "dmy"))
    return tuple((re.compile(p, re.I), order) for p, order in out)


def dates_in(text: str, lang: str) -> set[Date]:
    """The dates `text` writes in language `lang`; a date inside a longer one ("luglio 2023" of "18 luglio 2023")
    is not counted again."""
    month_of = _months(lang)
    found: list[tuple[int, int, Date]] = []
    for pattern, order in _date_patterns(lang):
        for m in pattern.finditer(text):
            parts = dict(zip(order, m.groups(), strict=True))
            month = parts.get("m") or ""
            number = int(month) if month.isdigit() else month_of.get(month.lower(), 0)
            day = int(parts.get("d") or 0)
            if 1 <= number <= 12 and day <= 31:
                found.append((m.start(), m.end(), (int(parts["y"]), number, day)))
    return {d for s, e, d in found if not any(s2 <= s and e <= e2 and (s2, e2) != (s, e) for s2, e2, _d in found)}


def _iso(date: str) -> Date:
    parts = [int(p) for p in date.split("-")[:3] if p.isdigit()] + [0, 0, 0]
    return parts[0], parts[1], parts[2]


def _same_date(written: Date, recorded: Date) -> bool:
    """Equal as far as both say (a month-and-year text against a full date compares month and year)."""
    return all(a == b or not a or not b for a, b in zip(written, recorded, strict=True))


def _has_date(words: list[str], dates: set[Date], recorded: list[str]) -> bool:
    """One of the recorded dates is in the text: compared in full where the text writes a date in one of
    their years, else by the year alone."""
    expected = [_iso(d) for d in recorded]
    years = {e[0] for e in expected}
    written = [d for d in dates if d[0] in years]
    if written:
        return any(_same_date(w, e) for w in written for e in expected)
    return any(str(y) in words for y in years)


def anchors_of(family: str) -> list[tuple[Anchor, Any]]:
    """The family's anchors and, for each, what to look for (from the knowledge base)."""
    lic = kb.find(family)
    if lic is None:
        return []
    name = _data()["families"].get(family)
    out: list[tuple[Anchor, Any]] = [(Anchor("name", " ".join(name)), ("name", name))] if name else []
    # the date of the release or of any registered revision
    dates = sorted({d for d in [lic.release_date, *(r.date for r in revisions.of_family(family))] if d[:4].isdigit()})
    if dates:
        out.append((Anchor("date", lic.release_date or dates[0]), ("date", dates)))
    for t in lic.of_kind(Kind.USER_THRESHOLD)[:1]:
        mau = int(t.params.get("mau", 0))
        out.append((Anchor("user threshold", f"{mau // 1_000_000} million monthly active users"), ("threshold", mau)))
    for t in lic.of_kind(Kind.GOVERNING_LAW)[:1]:
        place = str(t.params.get("law", "")).split(",")[0].strip().lower()
        if place:
            out.append((Anchor("governing law", place.title()), ("place", place)))
    licensor = lic.licensor.split()[0].lower() if lic.licensor else ""
    if licensor and licensor.isalpha():
        out.append((Anchor("licensor", lic.licensor), ("tokens", [licensor])))
    return out


def read(text: str, words: list[str], family: str, lang: str) -> Reading:
    """Which of the family's anchors the text (and its `words`, as tokenised) holds, read in language `lang`."""
    return _read(words, dates_in(text, lang), family, lang)


def _read(words: list[str], dates: set[Date], family: str, lang: str) -> Reading:
    language_words = _data()["languages"][lang]
    present = set(words)
    found: list[Anchor] = []
    missing: list[Anchor] = []
    for anchor, (how, value) in anchors_of(family):
        if how == "name":
            ok = _has_name(words, value)
        elif how == "tokens":
            ok = all(v in present for v in value)
        elif how == "date":
            ok = _has_date(words, dates, value)
        elif how == "threshold":
            ok = _has_threshold(words, value, language_words)
        else:
            spellings = language_words["places"].get(value, []) + [value]
            ok = any(_phrase_in(words, " ".join(phrase_words(s))) for s in spellings)
        (found if ok else missing).append(anchor)
    return Reading(family, lang, tuple(found), tuple(missing))


def best_reading(text: str, words: list[str], lang: str) -> Reading | None:
    """The family whose anchors (its name among them) the text holds best, or None.

    Needs the name and at least two more anchors, so a text that only mentions
    "Llama 2" in passing is not read as the licence."""
    dates = dates_in(text, lang)
    readings = [_read(words, dates, family, lang) for family in _data()["families"]]
    named = [r for r in readings if any(a.label == "name" for a in r.found) and len(r.found) >= 3]
    if not named:
        return None
    # most anchors first; then the longer (more specific) name: "llama 3 1" over "llama 3"
    return max(named, key=lambda r: (len(r.found), len(r.found[0].expected.split()), -len(r.missing)))
