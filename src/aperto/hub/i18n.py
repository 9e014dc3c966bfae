"""The web UI's languages: English (the source strings) and Italian, through gettext catalogues.

The catalogues are the .po files under hub/locale/, read with Babel on first use (no compile
step to forget). The language is the `aperto_lang` cookie (a preference, not a session) when it
names a known language, else the best match in Accept-Language, else English. Licence texts
and data (model names, clauses quoted from a licence) are never translated.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = {"en": "English", "it": "Italiano"}
DEFAULT = "en"
LANG_COOKIE = "aperto_lang"
LOCALE_DIR = Path(__file__).parent / "locale"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """msgid -> msgstr for one language; English is the identity (an empty catalogue)."""
    if lang == DEFAULT:
        return {}
    from babel.messages.pofile import read_po

    table: dict[str, str] = {}
    # messages.po: the interface; clauses.po: the knowledge base's clause explanations (licence texts never)
    for name in ("clauses.po", "messages.po"):
        with open(LOCALE_DIR / lang / "LC_MESSAGES" / name, "rb") as f:
            cat = read_po(f, locale=lang)
        table.update({m.id: str(m.string) for m in cat if isinstance(m.id, str) and m.id and m.string and not m.fuzzy})
    return table


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return str(cookie)
    best, best_q = DEFAULT, 0.0
    for part in (accept_language or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


def translator(lang: str) -> Callable[..., str]:
    """`_("Signed in as %(name)s", name=me.name)`: the translation, then the values put in."""
    table = catalogue(lang if lang in LANGUAGES else DEFAULT)

    def gettext(message: str, **values: Any) -> str:
        text = table.get(message) or message
        return text % values if values else text

    return gettext


def N_(message: str) -> str:  # noqa: N802 - the gettext convention, found by the catalogue check
    """Marks a string for the catalogue where it is defined; it is translated where it is shown."""
    return message


def marked(text: str) -> list[str]:
    """The msgids a template or module marks: _("…"), tr(request)("…") and N_("…") with one literal."""
    import re

    found = re.findall(r'(?:\b_|\bN_|tr\(request\))\(\s*"((?:[^"\\]|\\.)*)"', text)
    found += re.findall(r"(?:\b_|\bN_|tr\(request\))\(\s*'((?:[^'\\]|\\.)*)'", text)
    return [f.replace('\\"', '"') for f in found]
