"""Who wants to use a model, and how: the declared facts a decision rests on.

Everything here is what the requester says about themselves. aperto checks
that it is well formed (no negative user counts, a real country code), not
that it is true.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from aperto.errors import BadInput


def N_(message: str) -> str:  # noqa: N802 - the gettext convention, found by the hub's catalogue check
    """Marks an error template that the hub's pages translate (policy sentences use messages.N_)."""
    return message


class Use(StrEnum):
    COMMERCIAL = "commercial"   # in a product or service, or otherwise for commercial advantage
    INTERNAL = "internal"       # inside an organisation, not offered to others
    RESEARCH = "research"       # non-commercial research
    EVALUATION = "evaluation"   # testing and benchmarking, no production use


# ISO 3166-1 alpha-2, officially assigned codes (249).
ISO_3166_ALPHA2 = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT
MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())

# The 27 member states since 1 February 2020 (the United Kingdom left then).
EU_MEMBER_STATES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)
# Territories with their own ISO code that are nonetheless part of the EU: the French
# outermost regions and Åland. (Canaries, Azores, Madeira share ES / PT.)
_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9}
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmb]?)\s*$", re.IGNORECASE)

NONE_HINT = N_("declare 0 if there are none")


def parse_count(text: str, what: str = "count") -> int:
    """A user count: 800000000, 800_000_000, 800,000,000, 800M, 0.8B."""
    cleaned = str(text).replace("_", "").replace(",", "")
    if cleaned.strip().startswith("-"):
        raise BadInput(N_("%(what)s cannot be negative (%(value)s)"), hint=NONE_HINT,
                       values={"what": what, "value": str(text)})
    match = _NUMBER.match(cleaned)
    if not match:
        raise BadInput(N_("%(what)s must be a whole number such as 800000000 or 800M, got %(value)s"),
                       values={"what": what, "value": repr(text)})
    value = float(match.group(1)) * _SUFFIX[match.group(2).lower()]
    if value != int(value):
        raise BadInput(N_("%(what)s must be a whole number, got %(value)s"), values={"what": what, "value": repr(text)})
    return int(value)


EU_TERRITORIES = frozenset("GF GP MQ RE YT MF AX".split())

# Codes people commonly type that are not ISO 3166 alpha-2 but mean one country.
COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}


def normalise_country(code: str | None) -> str | None:
    """An upper-case ISO 3166-1 alpha-2 code, or None; raises BadInput for anything else."""
    if code is None or not str(code).strip():
        return None
    value = str(code).strip().upper()
    value = COUNTRY_ALIASES.get(value, value)
    if value not in ISO_3166_ALPHA2:
        raise BadInput(
            N_("unknown country code %(code)s"),
            hint=N_("use an ISO 3166-1 alpha-2 code such as DE, FR, US, GB"),
            values={"code": repr(code)},
            country=str(code),
        )
    return value


def in_eu(country: str | None) -> bool:
    return country is not None and (country in EU_MEMBER_STATES or country in EU_TERRITORIES)


@dataclass(frozen=True)
class Profile:
    """The requester's declaration.

    ``mau`` is the requester's own monthly active users and ``affiliates_mau`` its
    affiliates', both in the calendar month before the release date of the licence
    version (Llama §2: "on the Llama 2 version release date"). ``country`` is where the requester is
    domiciled or has its principal place of business.
    """

    mau: int = 0
    affiliates_mau: int = 0
    use: Use = Use.COMMERCIAL
    country: str | None = None
    train_other_models: bool = False   # outputs or weights will train / improve another model
    redistribute: bool = False         # the weights (or a product containing them) go to others
    publish_finetune: bool = False     # a fine-tune or other derivative will be distributed or made available
    derivative_name: str | None = None
    multimodal: bool = False           # the model in question takes images / audio as well as text
    accepts_aup: bool = True
    hosted_service: bool = False       # the model is offered to others as a hosted service (API)
    annual_revenue_usd: float | None = None

    def __post_init__(self) -> None:
        for name in ("mau", "affiliates_mau"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise BadInput(N_("%(what)s must be a whole number, got %(value)s"),
                               values={"what": name, "value": repr(value)}, field=name)
            if value < 0:
                raise BadInput(N_("%(what)s cannot be negative (%(value)s)"), hint=NONE_HINT,
                               values={"what": name, "value": str(value)}, field=name)
        try:
            object.__setattr__(self, "use", Use(self.use))
        except ValueError:
            raise BadInput(N_("unknown use %(use)s"), hint=N_("one of %(uses)s"), field="use",
                           values={"use": repr(self.use), "uses": ", ".join(u.value for u in Use)}) from None
        object.__setattr__(self, "country", normalise_country(self.country))
        if self.annual_revenue_usd is not None and self.annual_revenue_usd < 0:
            raise BadInput(N_("annual_revenue_usd cannot be negative"), field="annual_revenue_usd")
        derived = self.derivative_name
        object.__setattr__(self, "derivative_name", derived.strip() if derived and derived.strip() else None)

    @property
    def total_mau(self) -> int:
        return self.mau + self.affiliates_mau

    @property
    def shares(self) -> bool:
        """Whether anything (the model or a derivative) goes to third parties."""
        return self.redistribute or self.publish_finetune

    def to_dict(self) -> dict[str, object]:
        return {
            "mau": self.mau,
            "affiliates_mau": self.affiliates_mau,
            "use": self.use.value,
            "country": self.country,
            "train_other_models": self.train_other_models,
            "redistribute": self.redistribute,
            "publish_finetune": self.publish_finetune,
            "derivative_name": self.derivative_name,
            "multimodal": self.multimodal,
            "accepts_aup": self.accepts_aup,
            "hosted_service": self.hosted_service,
            "annual_revenue_usd": self.annual_revenue_usd,
        }
