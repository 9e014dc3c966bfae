"""Facts about well-known models, read from ``models.toml`` next to this file.

Loaded once, on first use. A model is found by its id (a Hugging Face repo id
where one exists) or an alias, case-insensitively.
"""

from __future__ import annotations

import builtins
import difflib
import functools
import itertools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aperto.errors import ApertoError, BadInput, NotFound, Unavailable

DATA_FILE = Path(__file__).resolve().parent / "models.toml"
FAMILIES_FILE = Path(__file__).resolve().parent / "families.toml"
_AXIS = re.compile(r"\{(\w+)\}")
_SIZE = re.compile(r"^(?:(\d+)x)?(\d+(?:[._]\d+)?)([bm])(\d*)$", re.I)
COMPONENTS = ("weights", "inference_code", "training_code", "data_information", "training_data")
UNCHECKED = "from design.md; not re-checked against the source here"
HF_PREFIXES = ("https://huggingface.co/", "http://huggingface.co/", "huggingface.co/", "hf://")


class InvalidCatalogue(ApertoError):
    code = "invalid_catalogue"


@dataclass(frozen=True)
class Components:
    """What was released. None: not known."""

    weights: bool | None = None
    inference_code: bool | None = None
    training_code: bool | None = None
    data_information: bool | None = None
    training_data: bool | None = None

    def to_dict(self) -> dict[str, bool | None]:
        return {name: getattr(self, name) for name in COMPONENTS}


@dataclass(frozen=True)
class Score:
    benchmark: str          # "humaneval"
    metric: str             # "pass@1"
    value: float            # percent, as published
    source: str             # title of the publication
    url: str = ""
    verified: bool = False
    note: str = UNCHECKED

    def to_dict(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "metric": self.metric, "value": self.value, "source": self.source,
                "url": self.url, "verified": self.verified, "note": self.note}


@dataclass(frozen=True)
class ModelFacts:
    id: str
    name: str
    family: str
    developer: str
    license: str                    # licence id in aperto.licenses.kb
    release_date: str               # ISO date
    parameters_b: float | None      # total parameters, billions (None: undisclosed)
    active_parameters_b: float | None
    multimodal: bool
    released: Components
    scores: tuple[Score, ...] = ()
    aliases: tuple[str, ...] = ()
    note: str = ""
    weights_hosted_here: bool = False   # aperto's own hub does not hold these weights
    base: str = ""                      # the catalogued model it was made from (a distillation's student base)

    @property
    def weights_released(self) -> bool | None:
        return self.released.weights

    def score(self, benchmark: str = "humaneval", metric: str = "pass@1") -> Score | None:
        return next((s for s in self.scores if s.benchmark == benchmark and s.metric == metric), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "family": self.family, "developer": self.developer,
            "license": self.license, "release_date": self.release_date, "parameters_b": self.parameters_b,
            "active_parameters_b": self.active_parameters_b, "multimodal": self.multimodal,
            "released": self.released.to_dict(), "scores": [s.to_dict() for s in self.scores],
            "aliases": list(self.aliases), "note": self.note, "weights_hosted_here": self.weights_hosted_here,
            "base": self.base,
        }


@dataclass(frozen=True)
class PublishedScore:
    model: str
    name: str
    score: Score

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "name": self.name, **self.score.to_dict()}


def _bad(message: str) -> InvalidCatalogue:
    return InvalidCatalogue(f"{DATA_FILE.name}: {message}", hint=f"fix {DATA_FILE}")


def _optional_float(raw: dict[str, Any], key: str, mid: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _bad(f"{mid}: {key} must be a positive number")
    return float(value)


def _model(raw: dict[str, Any], sources: dict[str, dict[str, str]]) -> ModelFacts:
    mid = raw.get("id")
    if not isinstance(mid, str) or not mid:
        raise _bad("a model has no id")
    for key in ("name", "family", "license", "release_date"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise _bad(f"{mid} lacks {key}")
    released = raw.get("released", {})
    unknown = set(released) - set(COMPONENTS)
    if unknown:
        raise _bad(f"{mid}: unknown released components {sorted(unknown)}")
    scores = []
    for s in raw.get("scores", []):
        src = sources.get(s.get("source", ""))
        if src is None:
            raise _bad(f"{mid}: score source {s.get('source')!r} is not under [sources]")
        scores.append(Score(benchmark=s["benchmark"], metric=s["metric"], value=float(s["value"]),
                            source=src["title"], url=src.get("url", ""), verified=bool(s.get("verified", False)),
                            note=s.get("note", UNCHECKED)))
    return ModelFacts(
        id=mid, name=raw["name"], family=raw["family"], developer=raw.get("developer", ""),
        license=raw["license"], release_date=raw["release_date"],
        parameters_b=_optional_float(raw, "parameters_b", mid),
        active_parameters_b=_optional_float(raw, "active_parameters_b", mid),
        multimodal=bool(raw.get("multimodal", False)),
        released=Components(**{k: released.get(k) for k in COMPONENTS}),
        scores=tuple(scores), aliases=tuple(raw.get("aliases", [])), note=raw.get("note", ""),
        base=raw.get("base", ""),
    )


def _size(token: str) -> float | None:
    """Parameters in billions from a size token: 7b, 1_8B, 135M, 7b1 (BLOOM's 7.1B).

    An experts pattern (8x7B) is not a total (the experts share layers): None."""
    m = _SIZE.match(token)
    if not m or m.group(1):
        return None
    _experts, number, unit, tail = m.groups()
    value = float(number.replace("_", ".") + (f".{tail}" if tail else ""))
    return value / 1000 if unit.lower() == "m" else value


def _parameters(repo: str) -> tuple[float | None, float | None]:
    tokens = repo.split("/")[-1].split("-")
    total = next((v for t in tokens if (v := _size(t)) is not None), None)
    active = next((v for t in tokens if t[:1] in "aA" and (v := _size(t[1:])) is not None), None)
    return total, active


def _by(table: dict[str, str], repo: str, default: str) -> str:
    """The value of the longest key found in the lower-cased repo id (`license_by`, `release_by`)."""
    low = repo.lower()
    keys = sorted((k for k in table if k.lower() in low), key=len, reverse=True)
    return table[keys[0]] if keys else default


def _expand(template: str, axes: dict[str, list[str]]) -> list[str]:
    names = _AXIS.findall(template)
    missing = [n for n in names if n not in axes]
    if missing:
        raise _bad(f"{FAMILIES_FILE.name}: template {template!r} uses undefined axes {missing}")
    out = []
    for values in itertools.product(*(axes[n] for n in names)):
        repo = template
        for n, v in zip(names, values, strict=True):
            repo = repo.replace("{" + n + "}", v, 1)
        out.append(repo)
    return out


def _generated() -> list[ModelFacts]:
    """Every official repository id of the families in families.toml."""
    try:
        raw = tomllib.loads(FAMILIES_FILE.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise _bad(f"{FAMILIES_FILE.name} cannot be read: {exc}") from None
    defaults = raw.get("defaults", {})
    out = []
    for fam in raw.get("family", []):
        axes = {k: v for k, v in fam.items() if isinstance(v, list) and k not in ("ids", "multimodal_by")}
        components = defaults.get(fam.get("released", ""), {})
        for template in fam["ids"]:
            for repo in _expand(template, axes):
                total, active = _parameters(repo)
                out.append(ModelFacts(
                    id=repo, name=f"{fam['name']}: {repo.split('/')[-1]}", family=fam["family"],
                    developer=fam.get("developer", ""), license=_by(fam.get("license_by", {}), repo, fam["license"]),
                    release_date=_by(fam.get("release_by", {}), repo, fam["release_date"]),
                    parameters_b=total, active_parameters_b=active,
                    multimodal=bool(fam.get("multimodal")) or any(k in repo.lower() for k in fam.get("multimodal_by", [])),
                    released=Components(**{k: components.get(k) for k in COMPONENTS}),
                    note=fam.get("note", "generated from the family pattern in families.toml"),
                    base=_by(fam.get("base_by", {}), repo, ""),
                ))
    return out


@functools.cache
def _load() -> tuple[tuple[ModelFacts, ...], dict[str, ModelFacts]]:
    try:
        raw = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise _bad(f"cannot be read: {exc}") from None
    listed = [_model(m, raw.get("sources", {})) for m in raw.get("model", [])]
    taken = {k.lower() for m in listed for k in (m.id, *m.aliases)}
    models = tuple(listed + [g for g in _generated() if g.id.lower() not in taken])
    index: dict[str, ModelFacts] = {}
    for m in models:
        for key in (m.id, *m.aliases):
            k = key.lower()
            if k in index and index[k].id != m.id:
                raise _bad(f"{key!r} names both {index[k].id} and {m.id}")
            index[k] = m
    return models, index


def _key(id_or_alias: str) -> str:
    key = id_or_alias.strip()
    for prefix in HF_PREFIXES:
        if key.lower().startswith(prefix):
            key = key[len(prefix):]
    return key.strip("/").lower()


def find(id_or_alias: str) -> ModelFacts | None:
    return _load()[1].get(_key(id_or_alias))


def get(id_or_alias: str) -> ModelFacts:
    """The facts for a model id or alias; raises NotFound with a hint."""
    if not isinstance(id_or_alias, str) or not id_or_alias.strip():
        raise BadInput("no model named", hint="give a model id such as meta-llama/Llama-2-7b-hf")
    model = find(id_or_alias)
    if model is None:
        near = suggest(id_or_alias)
        hint = f"did you mean {', '.join(near)}?" if near else "see aperto.catalog.ids() for the known models"
        raise NotFound(f"model {id_or_alias!r} is not in the catalogue", hint=hint, model=id_or_alias)
    return model


def suggest(id_or_alias: str, n: int = 5) -> list[str]:
    """The known ids closest to an unknown one (by the repo name, then the whole id)."""
    key = _key(id_or_alias)
    models = _load()[0]
    by_name = {m.id.lower().rsplit("/", 1)[-1]: m.id for m in models}
    names = difflib.get_close_matches(key.rsplit("/", 1)[-1], list(by_name), n=n, cutoff=0.6)
    whole = difflib.get_close_matches(key, [m.id.lower() for m in models], n=n, cutoff=0.6)
    lower = {m.id.lower(): m.id for m in models}
    return list(dict.fromkeys([by_name[x] for x in names] + [lower[x] for x in whole]))[:n]


def all() -> list[ModelFacts]:  # noqa: A001 - the contract names it catalog.all()
    return builtins.list(_load()[0])


def ids() -> list[str]:
    return [m.id for m in _load()[0]]


def published_scores(benchmark: str = "humaneval", metric: str = "pass@1") -> list[PublishedScore]:
    """Published scores for a benchmark, highest first."""
    out = [PublishedScore(m.id, m.name, s) for m in _load()[0] for s in m.scores
           if s.benchmark == benchmark and s.metric == metric]
    return sorted(out, key=lambda p: -p.score.value)


def released(model: ModelFacts | str) -> Any:
    """The model's released components as ``aperto.licenses.verdict.Released`` (for the OSAID check)."""
    facts = get(model) if isinstance(model, str) else model
    try:
        from aperto.licenses.verdict import Released
    except ImportError as exc:
        raise Unavailable("aperto.licenses.verdict is not available", hint=str(exc)) from None
    c = facts.released
    return Released(weights=c.weights, inference_code=c.inference_code, training_code=c.training_code,
                    data_information=c.data_information, training_data=c.training_data)
