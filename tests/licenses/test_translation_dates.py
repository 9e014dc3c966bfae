"""A translation's date anchor is compared as a whole date (day, month, year) where the copy writes one."""

from __future__ import annotations

from pathlib import Path

import pytest

from aperto.licenses.identify import identify_text
from aperto.licenses.normalize import tokenize
from aperto.licenses.reading import dates_in, read

TRANSLATIONS = Path(__file__).resolve().parents[1] / "data" / "licenses-translations"


def date_differences(text: str) -> list[dict[str, str]]:
    return [d for d in identify_text(text).differences if d["term"] == "date"]


@pytest.mark.parametrize("name,official,changed,family,expected", [
    ("it_llama2.txt", "18 luglio 2023", "19 luglio 2023", "llama2", "2023-07-18"),           # another day
    ("de_llama3.1.txt", "23. Juli 2024", "23. Juni 2024", "llama3.1", "2024-07-23"),         # another month
    ("zh_llama2.txt", "2023年7月18日", "2023年7月28日", "llama2", "2023-07-18"),
    ("es_gemma.txt", "24 de marzo de 2025", "25 de marzo de 2025", "gemma", "2024-02-21"),
    ("fr_llama3.txt", "18 avril 2024", "18 mai 2024", "llama3", "2024-04-18"),
])
def test_a_changed_day_or_month_is_a_missing_date(name: str, official: str, changed: str, family: str,
                                                   expected: str) -> None:
    text = (TRANSLATIONS / name).read_text(encoding="utf-8")
    assert official in text and not date_differences(text)
    found = identify_text(text.replace(official, changed))
    assert (found.id, found.status) == (family, "translation")
    assert [d["official"] for d in found.differences if d["term"] == "date"] == [expected]


def test_a_month_and_year_are_compared_as_month_and_year() -> None:
    text = (TRANSLATIONS / "de_apache-2.0.txt").read_text(encoding="utf-8")
    assert "Januar 2004" in text

    def date_found(copy: str) -> bool:
        reading = read(copy, tokenize(copy).words, "apache-2.0", "de")
        return any(a.label == "date" for a in reading.found)

    assert date_found(text)                       # the record says 2004-01: no day to compare
    assert not date_found(text.replace("Januar 2004", "Februar 2004"))


def test_only_the_year_written_falls_back_to_the_year() -> None:
    text = (TRANSLATIONS / "it_llama2.txt").read_text(encoding="utf-8")
    assert not date_differences(text.replace("18 luglio 2023", "2023"))
    assert date_differences(text.replace("18 luglio 2023", "2022"))


@pytest.mark.parametrize("text,lang,date", [
    ("Release Date: July 18, 2023", "en", (2023, 7, 18)),
    ("dated 18 July 2023", "en", (2023, 7, 18)),
    ("on 07/18/2023", "en", (2023, 7, 18)),
    ("2023-07-18", "it", (2023, 7, 18)),
    ("Data di rilascio: 18 luglio 2023", "it", (2023, 7, 18)),
    ("il 18/07/2023", "it", (2023, 7, 18)),
    ("Fecha: 18 de julio de 2023", "es", (2023, 7, 18)),
    ("Stand: 18. Juli 2023", "de", (2023, 7, 18)),
    ("vom 18.07.2023", "de", (2023, 7, 18)),
    ("le 1er juillet 2023", "fr", (2023, 7, 1)),
    ("Date : 18 juillet 2023", "fr", (2023, 7, 18)),
    ("发布日期：2023年7月18日", "zh", (2023, 7, 18)),
    ("Version 2.0, Januar 2004", "de", (2004, 1, 0)),
])
def test_dates_are_read_in_each_languages_formats(text: str, lang: str, date: tuple[int, int, int]) -> None:
    assert dates_in(text, lang) == {date}
