"""The policy's sentences as templates with values, so that a page can say them in another language.

A Reason's or an Obligation's ``text`` is its English rendering: what the API, the CLI and JSON
show. ``msgid`` and ``values`` let the web UI translate the template, then fill it in. A value is
data (a name, a date, a quoted notice: never translated), a count (written the language's way), a
Phrase (a piece of a sentence that is translated in its turn) or a list of phrases and data (joined
by commas).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

MESSAGES: dict[str, None] = {}   # every template and phrase the policy can say, in order of definition


def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention, found by the catalogue check
    """Marks a policy template for the catalogue and records it in MESSAGES."""
    MESSAGES[msgid] = None
    return msgid


@dataclass(frozen=True)
class Phrase:
    msgid: str
    values: Mapping[str, Value] = field(default_factory=dict, hash=False)

    @property
    def text(self) -> str:
        return render(self.msgid, self.values)


Value = str | int | Phrase | tuple[Phrase | str, ...]


def english_number(n: int) -> str:
    return f"{n:,}"


def _same(text: str) -> str:
    return text


def render(msgid: str, values: Mapping[str, Value], gettext: Callable[[str], str] = _same,
           number: Callable[[int], str] = english_number, data: Callable[[str], str] = _same) -> str:
    """The template in ``gettext``'s language with its values filled in: counts through ``number``,
    phrases translated in turn, data through ``data`` (for markup) but never translated."""
    if not values:
        return gettext(msgid)
    filled: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, Phrase):
            filled[key] = render(value.msgid, value.values, gettext, number, data)
        elif isinstance(value, tuple):
            parts = [render(p.msgid, p.values, gettext, number, data) if isinstance(p, Phrase) else data(p)
                     for p in value]
            # joined by the parts' own type, so that markup from gettext stays markup
            filled[key] = type(parts[0])(", ").join(parts) if parts else ""
        elif isinstance(value, int):
            filled[key] = number(value)
        else:
            filled[key] = data(value)
    return gettext(msgid) % filled


def values_to_json(values: Mapping[str, Value]) -> dict[str, object]:
    """A template's values as JSON, so that a stored sentence can be said again in another
    language: a phrase is {"msgid", "values"}, a list of parts a JSON list; data and counts as they are."""
    def one(value: Value) -> object:
        if isinstance(value, Phrase):
            return {"msgid": value.msgid, "values": values_to_json(value.values)}
        if isinstance(value, tuple):
            return [one(part) for part in value]
        return value
    return {key: one(value) for key, value in values.items()}


def values_from_json(stored: object) -> dict[str, Value]:
    """The inverse of values_to_json; anything else stored there is read as data (a string)."""
    def part(value: object) -> Phrase | str:
        if isinstance(value, dict):
            return Phrase(str(value.get("msgid") or ""), values_from_json(value.get("values")))
        return str(value)

    def one(value: object) -> Value:
        if isinstance(value, list):
            return tuple(part(p) for p in value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return part(value)
    return {str(key): one(value) for key, value in stored.items()} if isinstance(stored, dict) else {}
