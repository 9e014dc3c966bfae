"""How figures and ids read on the pages: file sizes, score intervals, policy names, the
profile a form declares, the requester's answers to a card's questions, the model page's OSAID
summary, and the policy's answers in the page's language."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import babel
import babel.dates
import jinja2
from markupsafe import Markup

from aperto.errors import ApertoError, BadInput
from aperto.hub import gate_form, i18n
from aperto.hub.access import REQUEST_REASONS
from aperto.hub.i18n import N_
from aperto.hub.licensing import EVALUATION_FAILED, UNKNOWN_LICENCE, first_reason
from aperto.policy import Profile, evaluate
from aperto.policy.messages import Phrase, english_number, render, values_from_json
from aperto.policy.profile import normalise_country, parse_count

# policy ids as licences cite them (e.g. "Comply with llama2-aup") and the names people know
POLICY_NAMES = {
    "llama2-aup": N_("the Llama 2 Acceptable Use Policy"),
    "llama3-aup": N_("the Meta Llama 3 Acceptable Use Policy"),
    "llama3.1-aup": N_("the Llama 3.1 Acceptable Use Policy"),
    "llama3.2-aup": N_("the Llama 3.2 Acceptable Use Policy"),
    "llama3.3-aup": N_("the Llama 3.3 Acceptable Use Policy"),
    "llama4-aup": N_("the Llama 4 Acceptable Use Policy"),
    "gemma-prohibited-use-policy": N_("the Gemma Prohibited Use Policy"),
    "tii-falcon-180b-aup": N_("the Falcon 180B Acceptable Use Policy"),
    "attachment-a": N_("the use restrictions of Attachment A"),
    "applicable-law-and-export-control": N_("applicable law and export controls"),
}
_POLICY_RE = re.compile("|".join(re.escape(k) for k in sorted(POLICY_NAMES, key=len, reverse=True)))
# words the pages show from data (request statuses and steps), for the catalogue
SHOWN_WORDS = (N_("pending"), N_("accepted"), N_("rejected"), N_("submission"), N_("decision"))
# a licence clause's kind, an OSD criterion's result and the ten OSD criteria, as the pages name them
KIND_LABELS = {
    "grant": N_("grant"), "attribution": N_("attribution"), "notice": N_("notice"),
    "user-threshold": N_("user threshold"), "revenue-threshold": N_("revenue threshold"),
    "output-use": N_("use of outputs"), "naming": N_("naming"), "acceptable-use": N_("acceptable use"),
    "field-of-use": N_("field of use"), "geography": N_("geography"), "non-commercial": N_("non-commercial"),
    "research-only": N_("research only"), "non-production": N_("non-production"), "hosting": N_("hosting"),
    "pass-through": N_("pass-through"), "remote-restriction": N_("remote restriction"),
    "mark-modifications": N_("marking modifications"), "trademark": N_("trademark"),
    "patent-termination": N_("patent termination"), "termination": N_("termination"),
    "governing-law": N_("governing law"), "warranty": N_("warranty"),
}
RESULT_LABELS = {"pass": N_("pass"), "fail": N_("fail"), "not-applicable": N_("not applicable"),
                 "unknown": N_("unknown")}
OSD_NAMES = {
    1: N_("Free redistribution"), 2: N_("Source code"), 3: N_("Derived works"),
    4: N_("Integrity of the author's source code"), 5: N_("No discrimination against persons or groups"),
    6: N_("No discrimination against fields of endeavour"), 7: N_("Distribution of licence"),
    8: N_("Licence must not be specific to a product"), 9: N_("Licence must not restrict other software"),
    10: N_("Licence must be technology-neutral"),
}
COUNT_ERROR = N_("“%(value)s” is not a number of users: write it as 800000000, 800M, 50K or 0")
COUNTRY_ERROR = N_("“%(value)s” is not a country code: use the two-letter ISO code, such as IT, DE, FR or US, or leave it empty")  # noqa: E501
# the profile's yes/no fields, as the CLI's `aperto check` flags
FLAGS = ("train_other_models", "redistribute", "publish_finetune", "multimodal", "hosted_service", "accepts_aup")
# what a requester may declare beyond accepting the AUP, as the licensor's queue names it
DECLARED = (("train_other_models", N_("trains other models")), ("redistribute", N_("redistributes")),
            ("publish_finetune", N_("publishes a fine-tune")), ("multimodal", N_("multimodal use")),
            ("hosted_service", N_("hosted service")))


def filesize(value: Any) -> str:
    """1536 -> "1.5 KB" (decimal units, as Hugging Face shows them)."""
    size = float(value or 0)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def readable(text: Any, _: Callable[[str], str] = str) -> str:
    """Policy ids in decision texts replaced by the policies' names (in `_`'s language)."""
    return _POLICY_RE.sub(lambda m: _(POLICY_NAMES[m.group(0)]), str(text or ""))


def wilson(successes: float, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval: unlike the normal one it is not 0–0 for 0 of 5 (it is 0–43%)."""
    if trials <= 0:
        return (0.0, 1.0)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def score_interval(row: dict[str, Any]) -> tuple[float, float] | None:
    """pass@1 over its problems: the Wilson interval of the passes, in percent."""
    trials = int(row.get("samples") or 0) // max(int(row.get("n") or 1), 1)  # problems, not completions
    if trials <= 0 or row.get("metric") != "pass@1":
        ci = row.get("ci95")
        return (ci[0] * 100, ci[1] * 100) if ci else None
    low, high = wilson(row["percent"] / 100 * trials, trials)
    return (low * 100, high * 100)


def profile_form(form: dict[str, Any], _: Callable[..., str] = lambda m, **v: m % v if v else m
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """The web form's profile, with counts such as "800M" read as the CLI reads them.
    Returns the fields for clean_attestation and the field errors (field -> message, in `_`'s language)."""
    fields: dict[str, Any] = {k: v for k, v in form.items() if k != "csrf"}
    errors: dict[str, str] = {}
    for name in ("mau", "affiliates_mau"):
        try:
            fields[name] = parse_count(str(form.get(name) or "0"), name)
        except BadInput:
            errors[name] = _(COUNT_ERROR, value=str(form.get(name))[:40])
    try:
        fields["country"] = normalise_country(str(form.get("country") or "")) or ""
    except BadInput:
        errors["country"] = _(COUNTRY_ERROR, value=str(form.get("country"))[:40])
    if str(form.get("use") or "commercial") not in ("commercial", "internal", "research", "evaluation"):
        errors["use"] = _("Choose a use from the list.")
    return fields, errors


def declared(fields: Mapping[str, Any]) -> list[str]:
    """The uses a request declares (DECLARED's labels, to translate), none when nothing was ticked."""
    return [label for key, label in DECLARED if fields.get(key) in (True, "true")]


@dataclass(frozen=True)
class Answer:
    question: str  # the card's words
    said: str
    data: bool  # the requester's own words or the card's, not the hub's: shown untranslated


def gate_answers(fields: Mapping[str, Any], asked: list[gate_form.Question], lang: str) -> list[Answer]:
    """The requester's answers to the card's questions (``gated_fields``), as the licensor reads them:
    a ticked box as yes or no, a date and a country in the page's language, a choice by the card's
    label for it. An answer to a question the card no longer asks reads as it was stored."""
    stored = fields.get("gated_fields")
    if not isinstance(stored, dict):
        return []
    _ = i18n.translator(lang)
    kinds = {q.label: q for q in asked}
    out = []
    for label, value in stored.items():
        q = kinds.get(label)
        kind = q.kind if q else "text"
        if isinstance(value, bool):
            out.append(Answer(label, _("yes") if value else _("no"), False))
        elif value is None or value == "":
            out.append(Answer(label, "—", False))
        elif kind == "date_picker":
            try:
                out.append(Answer(label, babel.dates.format_date(date.fromisoformat(str(value)), "long", locale=lang),
                                  False))
            except ValueError:
                out.append(Answer(label, str(value), True))
        elif kind == "country":
            name = babel.Locale.parse(lang).territories.get(str(value))
            out.append(Answer(label, f"{name} ({value})", False) if name else Answer(label, str(value), True))
        else:
            out.append(Answer(label, dict(q.options).get(str(value), str(value)) if q else str(value), True))
    return out


def agreed_prompt(fields: Mapping[str, Any]) -> str | None:
    """The card's prompt (extra_gated_prompt) as the requester was shown it, stored with the answers."""
    text = fields.get("gated_prompt")
    return text if isinstance(text, str) and text.strip() else None


def with_answers(row: Mapping[str, Any], asked: list[gate_form.Question], lang: str) -> dict[str, Any]:
    """A request as the pages show it: with its answers to the card's questions and the prompt agreed to."""
    return {**row, "answers": gate_answers(row["fields"], asked, lang), "prompt": agreed_prompt(row["fields"])}


def osaid_summary(repo_id: str, license_id: str | None) -> dict[str, Any] | None:
    """The Open Source AI Definition check from the catalogue's release facts, if both are known."""
    if not license_id:
        return None
    try:
        from aperto import catalog
        from aperto.licenses import verdict

        facts = catalog.find(repo_id)
        if facts is None:
            return None
        return verdict.osaid(license_id, catalog.released(facts)).to_dict()
    except Exception:  # an unknown licence or no catalogue: the page shows the OSD table alone
        return None


# ---- the policy's answers in the page's language ------------------------------------------------

def number(lang: str) -> Callable[[int], str]:
    """Counts as the language writes them: 700,000,000 in English, 700.000.000 in Italian."""
    if lang == "it":
        return lambda n: english_number(n).replace(",", ".")
    return english_number


class Speaker:
    """Says the policy's sentences in one language, as markup: each template translated and filled
    in; data (names, quoted notices) marked translate="no"; a sentence not yet translated (a clause
    summary missing from clauses.po) marked lang="en", so that it is honest about it."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.table = i18n.catalogue(lang)
        self.number = number(lang)

    def gettext(self, msgid: str) -> str:
        msgid = POLICY_NAMES.get(msgid, msgid)  # a policy's id: its name
        said = self.table.get(msgid)
        if said is None and self.lang != i18n.DEFAULT and msgid.strip(" .") and not msgid.startswith("%("):
            return Markup('<span lang="en">%s</span>') % readable(msgid)
        return Markup.escape(readable(said or msgid, lambda m: self.table.get(m) or m))

    @staticmethod
    def data(text: str) -> str:
        return Markup('<span translate="no">%s</span>') % text

    def say(self, phrase: Phrase, english: str = "") -> Markup:
        """The phrase in this language; its English as written where a stored template no longer
        fits its values (a wording whose placeholders changed since)."""
        try:
            return Markup(render(phrase.msgid, phrase.values, self.gettext, self.number, self.data))
        except (KeyError, ValueError, TypeError):
            if not english:
                raise
            return self.say(Phrase(english))

    def clause(self, clause: str) -> str:
        return self.table.get(clause) or clause


def stored(item: Mapping[str, Any]) -> Phrase | None:
    """A sentence's template and values as stored beside its English text (hub/licensing.template)."""
    msgid = item.get("msgid")
    return Phrase(msgid, values_from_json(item.get("values"))) if isinstance(msgid, str) and msgid else None


def phrases(decision: dict[str, Any] | None) -> dict[str, Phrase]:
    """English text -> its template and values, for a decision stored without them (before they
    were stored with each reason).

    The policy is pure, so evaluating the decision's licence and profile again gives the same
    reasons with their templates; a text that no longer matches (the knowledge base changed since)
    is kept as it was, in English."""
    if not decision or not decision.get("license") or not isinstance(decision.get("profile"), dict):
        return {}
    try:
        return _phrases(str(decision["license"]), json.dumps(decision["profile"], sort_keys=True))
    except Exception:  # a licence gone from the knowledge base, a profile of an older shape: English
        return {}


@functools.lru_cache(maxsize=512)
def _phrases(licence: str, profile: str) -> dict[str, Phrase]:
    """One evaluation per licence and profile: a queue page asks for each row's reasons twice."""
    again = evaluate(licence, Profile(**json.loads(profile)))
    return {r.text: r.phrase for r in again.reasons} | {o.text: o.phrase for o in again.obligations}


def explain(decision: dict[str, Any] | None, lang: str) -> dict[str, list[tuple[str, Markup]]]:
    """A decision's reasons and obligations as (clause, sentence) in the page's language, from the
    templates stored with them; one stored without is matched by its English text."""
    speaker, known = Speaker(lang), None
    out: dict[str, list[tuple[str, Markup]]] = {"reasons": [], "obligations": []}
    for key in out:
        for item in (decision or {}).get(key) or []:
            text = str(item.get("text", ""))
            phrase = stored(item)
            if phrase is None:
                known = phrases(decision) if known is None else known
                phrase = known.get(text) or fallback(text) or Phrase(text)
            out[key].append((speaker.clause(str(item.get("clause") or "")), speaker.say(phrase, text)))
    return out


def fallback(text: str) -> Phrase | None:
    """The hub's own reason when the policy could not decide (hub/licensing.py): the licence's id
    stays data; an error's words are said as they were raised (marked English when untranslated)."""
    for msgid, key in ((UNKNOWN_LICENCE, "licence"), (EVALUATION_FAILED, "error")):
        head, _, tail = msgid.partition(f"%({key})s")
        if len(text) > len(head) + len(tail) and text.startswith(head) and text.endswith(tail):
            value = text[len(head):len(text) - len(tail)]
            return Phrase(msgid, {key: value if key == "licence" else Phrase(value)})
    return None


def request_reason(row: Mapping[str, Any], lang: str) -> Markup:
    """An access request's reason (a row of hub/access.py) in the page's language, from the template
    and values stored with it: the hub's words around the policy's reasons, each translated. A reason
    a licensor typed is shown as they wrote it; a row from before templates were stored (its
    reason_msgid None) is matched against the hub's templates by its English text."""
    speaker, text, decision = Speaker(lang), str(row.get("reason") or ""), row.get("decision")
    msgid, values = row.get("reason_msgid"), values_from_json(row.get("reason_values"))
    if msgid is None:
        why = first_reason(decision or {})
        values = {"why": why}
        msgid = next((m for m in REQUEST_REASONS
                      if m == text or ("%(why)s" in m and why and m.replace("%(why)s", why) == text)), "")
    if not msgid:
        return Markup('<span translate="no">%s</span>') % text if text else Markup("")
    filled = {key: speaker.say(Phrase("%(v)s", {"v": value})) for key, value in values.items()}
    said = [Markup("%s: %s") % (speaker.clause(c), s) if c else s for c, s in _first(decision, lang)]
    if said:  # "why" is the decision's first reasons (licensing.first_reason), each said in its turn
        filled["why"] = Markup("; ").join(said)
    try:
        return Markup(speaker.gettext(msgid) % filled)
    except (KeyError, ValueError, TypeError):  # a template whose placeholders changed since: as written
        return Markup('<span translate="no">%s</span>') % text


def _first(decision: dict[str, Any] | None, lang: str) -> list[tuple[str, Markup]]:
    """The reasons first_reason joins: the first three."""
    return explain({**(decision or {}), "obligations": [], "reasons": ((decision or {}).get("reasons") or [])[:3]},
                   lang)["reasons"]


# template filters that need the page's language (registered in web_base.py)
@jinja2.pass_context
def explained_filter(ctx: Any, decision: dict[str, Any] | None) -> dict[str, list[tuple[str, Markup]]]:
    return explain(decision, ctx["lang"])


@jinja2.pass_context
def request_reason_filter(ctx: Any, row: Mapping[str, Any]) -> Markup:
    return request_reason(row, ctx["lang"])


@jinja2.pass_context
def count_filter(ctx: Any, value: Any) -> str:
    return number(ctx["lang"])(int(value or 0))


def error_said(error: ApertoError, lang: str) -> tuple[str, bool, str, bool]:
    """An error's message and hint in the page's language, each with whether it is still English
    (an error not yet given a template and its Italian is shown as raised, marked lang="en")."""
    table = i18n.catalogue(lang)

    def say(msgid: str | None, english: str | None) -> tuple[str, bool]:
        said = table.get(msgid or "")
        if said is None:
            return english or "", bool(english) and lang != i18n.DEFAULT
        return (said % error.values if error.values else said), False

    message = say(getattr(error, "msgid", None), error.message)
    hint = say(getattr(error, "hint_msgid", None), error.hint)
    return (*message, *hint)


@jinja2.pass_context
def error_filter(ctx: Any, error: ApertoError) -> tuple[str, bool, str, bool]:
    return error_said(error, ctx["lang"])
