"""What ``evaluate`` returns: an outcome, the obligations that come with it, and
the reasons behind it, each reason citing the clause it rests on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from aperto.policy.messages import Phrase, Value


class Outcome(StrEnum):
    ALLOWED = "allowed"
    ALLOWED_WITH_OBLIGATIONS = "allowed_with_obligations"
    NEEDS_LICENSOR_GRANT = "needs_licensor_grant"
    PROHIBITED = "prohibited"

    @property
    def rank(self) -> int:
        return list(Outcome).index(self)

    @property
    def label(self) -> str:
        return {
            "allowed": "allowed",
            "allowed_with_obligations": "allowed, with obligations",
            "needs_licensor_grant": "needs a grant from the licensor",
            "prohibited": "prohibited",
        }[self.value]


@dataclass(frozen=True)
class Obligation:
    kind: str      # license-copy, notice, attribution, naming, pass-through, acceptable-use, ...
    text: str      # what to do, spelled out (in English: the rendering of msgid with values)
    clause: str
    msgid: str = ""  # the template, for other languages (policy/messages.py); "" when text is its own
    values: Mapping[str, Value] = field(default_factory=dict, hash=False)

    @property
    def phrase(self) -> Phrase:
        return Phrase(self.msgid or self.text, self.values)

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "text": self.text, "clause": self.clause}


@dataclass(frozen=True)
class Reason:
    clause: str
    text: str
    kind: str = ""
    outcome: Outcome = Outcome.ALLOWED   # the outcome this reason alone leads to
    msgid: str = ""  # as Obligation's
    values: Mapping[str, Value] = field(default_factory=dict, hash=False)

    @property
    def phrase(self) -> Phrase:
        return Phrase(self.msgid or self.text, self.values)

    def to_dict(self) -> dict[str, str]:
        return {"clause": self.clause, "text": self.text, "kind": self.kind, "outcome": self.outcome.value}


class ModelLike(Protocol):
    """What the policy needs to know about a model (``aperto.catalog.ModelFacts`` fits)."""

    @property
    def id(self) -> str: ...
    @property
    def multimodal(self) -> bool: ...
    @property
    def release_date(self) -> str: ...
    @property
    def weights_released(self) -> bool | None: ...


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    license: str                    # licence id
    license_name: str
    category: str
    obligations: tuple[Obligation, ...] = ()
    reasons: tuple[Reason, ...] = ()
    model: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    full_terms: bool = True

    @property
    def allowed(self) -> bool:
        return self.outcome in (Outcome.ALLOWED, Outcome.ALLOWED_WITH_OBLIGATIONS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "license": self.license,
            "license_name": self.license_name,
            "category": self.category,
            "full_terms": self.full_terms,
            "model": self.model,
            "obligations": [o.to_dict() for o in self.obligations],
            "reasons": [r.to_dict() for r in self.reasons],
            "profile": self.profile,
            "basis": "declared by the requester; not verified",
        }
