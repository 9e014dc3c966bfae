"""The questions a model card adds to an access request, as Hugging Face reads them
(``extra_gated_prompt`` and ``extra_gated_fields``), and the checks on the answers. One set of
checks for the API and the web form, so the form's errors and the API's refusals agree.

A field is ``Label: text|checkbox|date_picker|country`` or ``Label: {type: select, options:
[...]}``, an option being a string or ``{label, value}``. A type the hub does not know is
asked as text: the requester can still answer it and the licensor reads the answer.
``ip_location`` is not a question (HF fills it from the requester's address); the hub does not
locate anyone, so it is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from aperto.errors import BadInput
from aperto.hub.i18n import N_
from aperto.policy import normalise_country

KINDS = ("text", "checkbox", "select", "date_picker", "country")
MAX_QUESTIONS = 50
TICKED = (True, "true", "on", "1", 1)


@dataclass(frozen=True)
class Question:
    label: str
    kind: str
    options: tuple[tuple[str, str], ...] = ()  # a select's (value, label) pairs


@dataclass(frozen=True)
class Problem:
    msgid: str
    values: dict[str, str]


def _option(item: Any) -> tuple[str, str] | None:
    if isinstance(item, (str, int, float)) and not isinstance(item, bool):
        return str(item), str(item)
    if isinstance(item, dict) and (item.get("value") is not None or item.get("label") is not None):
        value = str(item.get("value") if item.get("value") is not None else item["label"])
        return value, str(item.get("label") if item.get("label") is not None else value)
    return None


def questions(card: dict[str, Any]) -> list[Question]:
    asked = card.get("extra_gated_fields")
    if not isinstance(asked, dict):
        return []
    out = []
    for label, spec in list(asked.items())[:MAX_QUESTIONS]:
        if spec == "ip_location":
            continue
        kind: Any = spec
        options: tuple[tuple[str, str], ...] = ()
        if isinstance(spec, dict):
            kind = spec.get("type")
            raw = spec.get("options")
            options = tuple(o for o in map(_option, raw if isinstance(raw, list) else []) if o)
        if kind not in KINDS or (kind == "select" and not options):
            kind = "text"
        out.append(Question(str(label)[:300], str(kind), options if kind == "select" else ()))
    return out


def prompt(card: dict[str, Any]) -> str | None:
    text = card.get("extra_gated_prompt")
    return text[:5000] if isinstance(text, str) and text.strip() else None


def answer(q: Question, value: Any) -> tuple[Any, Problem | None]:
    """The answer as stored, or what is wrong with it."""
    said = {"label": repr(q.label)}
    if q.kind == "checkbox":
        return (True, None) if value in TICKED else (None, Problem(N_("the model card requires you to tick %(label)s"),
                                                                   said))
    text = "" if value is None else str(value).strip()
    if not text:
        return None, Problem(N_("the model card asks %(label)s"), said)
    if q.kind == "select" and text not in {v for v, _ in q.options}:
        return None, Problem(N_("the model card asks %(label)s: choose one of its answers"), said)
    if q.kind == "date_picker":
        try:
            return date.fromisoformat(text).isoformat(), None
        except ValueError:
            return None, Problem(N_("the model card asks %(label)s as a date, such as 2026-01-31"), said)
    if q.kind == "country":
        try:
            return normalise_country(text), None
        except BadInput:
            return None, Problem(N_("the model card asks %(label)s as a country: pick one or give its code"), said)
    return text[:500], None


def answers(card: dict[str, Any], sent: Any) -> dict[str, Any]:
    """The requester's answers (``gated_fields``: label -> answer) checked against the card,
    with the card's prompt, to be stored with the request. The first problem is a BadInput
    naming the question."""
    asked = questions(card)
    if not isinstance(sent, dict):
        raise BadInput(N_("gated_fields maps each question of the model card to its answer"))
    unknown = sorted(set(map(str, sent)) - {q.label for q in asked})
    if unknown:
        raise BadInput(N_("the model card does not ask %(label)s"), hint=N_("it asks %(asked)s"),
                       values={"label": repr(unknown[0]), "asked": str([q.label for q in asked])})
    out: dict[str, Any] = {}
    for q in asked:
        value, problem = answer(q, sent.get(q.label))
        if problem is not None:
            raise BadInput(problem.msgid, values=problem.values, field=q.label)
        out[q.label] = value
    stored: dict[str, Any] = {"gated_fields": out} if out else {}
    if prompt(card):
        stored["gated_prompt"] = prompt(card)
    return stored
