"""Facts about well-known models: licence, release date, what was released,
published HumanEval scores with their sources. Pure; data in ``models.toml``."""

from aperto.catalog.facts import (
    Components,
    ModelFacts,
    PublishedScore,
    Score,
    all,
    find,
    get,
    ids,
    published_scores,
    released,
    suggest,
)

__all__ = [
    "Components",
    "ModelFacts",
    "PublishedScore",
    "Score",
    "all",
    "find",
    "get",
    "ids",
    "published_scores",
    "released",
    "suggest",
]
