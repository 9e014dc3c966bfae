"""Eligibility: a declared profile against a licence's terms gives a Decision.

``evaluate(license_or_id, profile, model=None)`` is pure; the hub and the CLI
call the same function.
"""

from aperto.policy.decision import Decision, ModelLike, Obligation, Outcome, Reason
from aperto.policy.evaluate import evaluate
from aperto.policy.profile import EU_MEMBER_STATES, Profile, Use, in_eu, normalise_country

__all__ = [
    "EU_MEMBER_STATES",
    "Decision",
    "ModelLike",
    "Obligation",
    "Outcome",
    "Profile",
    "Reason",
    "Use",
    "evaluate",
    "in_eu",
    "normalise_country",
]
