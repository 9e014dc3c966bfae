"""The vocabulary of the knowledge base: what a licence says, as structured terms.

A licence is one data file under ``licenses/data/`` (TOML). Each term has a
kind from ``Kind``, the clause it comes from (section number as the licence
numbers it) and parameters. The wording of ``summary`` is ours, never the
licence's own text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    GRANT = "grant"                            # params: rights=[use, reproduce, distribute, modify, sublicense], royalty_free, patent
    ATTRIBUTION = "attribution"                # params: text (e.g. "Built with Llama"), prominently
    NOTICE = "notice"                          # params: text (the Notice file sentence), copy_of_license=true
    USER_THRESHOLD = "user-threshold"          # params: mau, measured_at ("release-date"|"any-time"), includes_affiliates, outcome
    REVENUE_THRESHOLD = "revenue-threshold"    # params: usd_per_year, outcome
    OUTPUT_USE = "output-use"                  # params: no_improving_other_models=true, exception
    NAMING = "naming"                          # params: prefix (e.g. "Llama"), applies_to ("distributed-derivatives")
    ACCEPTABLE_USE = "acceptable-use"          # params: policy (id of the AUP document), incorporated_by_reference, may_change
    FIELD_OF_USE = "field-of-use"              # params: banned=[military, ...]
    GEOGRAPHY = "geography"                    # params: excluded=["EU"], applies_to ("multimodal-models"), source ("aup")
    NON_COMMERCIAL = "non-commercial"          # params: {}
    RESEARCH_ONLY = "research-only"            # params: {}
    NON_PRODUCTION = "non-production"          # params: allowed=[testing, research, personal, evaluation]
    HOSTING = "hosting"                        # params: needs_separate_license=true (Falcon 180B hosted services)
    PASS_THROUGH = "pass-through"              # params: what ("use restrictions"), as_enforceable_provision
    REMOTE_RESTRICTION = "remote-restriction"  # params: {}
    MARK_MODIFICATIONS = "mark-modifications"  # params: {}
    TRADEMARK = "trademark"                    # params: granted (bool), mark
    PATENT_TERMINATION = "patent-termination"  # params: {}
    TERMINATION = "termination"                # params: on_breach
    GOVERNING_LAW = "governing-law"            # params: law ("California, USA"), courts
    WARRANTY = "warranty"                      # disclaimer, params: {}


class Category(StrEnum):
    OPEN_SOURCE = "open-source"
    OPEN_WEIGHTS_RESTRICTED = "open-weights-restricted"
    NONCOMMERCIAL_RESEARCH = "noncommercial-research"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {
            "open-source": "open source",
            "open-weights-restricted": "open weights with restrictions",
            "noncommercial-research": "non-commercial / research only",
            "closed": "closed",
        }[self.value]


class DocumentKind(StrEnum):
    LICENSE = "license"
    ACCEPTABLE_USE_POLICY = "acceptable-use-policy"


@dataclass(frozen=True)
class Term:
    kind: Kind
    clause: str                     # "§2", "§1.b.v", "Attachment A (c)", "AUP §1"
    summary: str                    # our words
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class License:
    id: str                         # Hugging Face `license:` id where one exists, else a slug / LicenseRef-
    name: str
    version: str
    category: Category
    licensor: str = ""
    release_date: str = ""          # ISO date the licence (or model version) was released
    url: str = ""
    aliases: tuple[str, ...] = ()   # other ids seen in the wild (license_name values, SPDX, scancode keys)
    spdx: str | None = None
    osi_approved: bool = False
    headline: tuple[str, ...] = ()  # the few restrictions a reader must know, in our words
    terms: tuple[Term, ...] = ()
    full_terms: bool = False        # False: identification + category + headline only

    def of_kind(self, kind: Kind) -> list[Term]:
        return [t for t in self.terms if t.kind == kind]

    def has(self, kind: Kind) -> bool:
        return any(t.kind == kind for t in self.terms)
