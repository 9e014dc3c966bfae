"""Evaluation results: validated when pushed, deletable by their publisher or an admin,
and read back defensively so one bad stored row never breaks a page."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aperto import catalog
from aperto.errors import BadInput, NotFound
from aperto.hub.auth import Caller, iso
from aperto.hub.core import Core, audit
from aperto.hub.gate import find_repo, need_owner
from aperto.hub.i18n import N_
from aperto.store import evals as rows

TEXT = 200


class EvalResultIn(BaseModel):
    """One score as the CLI pushes it (docs/contracts.md)."""

    model_config = ConfigDict(extra="forbid")
    benchmark: str = Field(min_length=1, max_length=64)
    metric: str = Field(min_length=1, max_length=64)
    value: float
    ci95: tuple[float, float] | None = None
    n: int | None = Field(None, ge=0, le=10**6)
    k: int | None = Field(None, ge=1, le=10**6)
    samples: int | None = Field(None, ge=0, le=10**9)
    settings: dict[str, Any] = Field(default_factory=dict)
    run_id: str | None = Field(None, max_length=TEXT)
    at: str | None = Field(None, max_length=64)

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @field_validator("ci95")
    @classmethod
    def _interval(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and (not all(math.isfinite(x) for x in v) or v[0] > v[1]):
            raise ValueError("must be [low, high] with finite low <= high")
        return v

    @field_validator("settings")
    @classmethod
    def _flat(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key, value in v.items():
            if len(key) > 64 or not isinstance(value, str | int | float | bool | None) or \
                    (isinstance(value, str) and len(value) > 1000):
                raise ValueError(f"settings.{key[:64]} must be a short string, number, boolean or null")
        return v


def validate(body: Any) -> EvalResultIn:
    try:
        return EvalResultIn.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        # pydantic's words for the problem are a value: they stay English on an Italian page
        raise BadInput(N_("eval result: %(where)s: %(problem)s"),
                       hint=N_("send benchmark, metric and a finite value; see docs/contracts.md"),
                       values={"where": where, "problem": first["msg"]}, field=where) from None


def readable(data: Any) -> dict[str, Any] | None:
    """A stored row as pages may show it, or None when it no longer validates."""
    try:
        return validate(data).model_dump()
    except BadInput:
        return None


class Evals:
    def __init__(self, core: Core) -> None:
        self.core = core

    def add_eval(self, caller: Caller | None, name: str, body: Any) -> dict:
        with self.core.write() as s:
            repo = find_repo(s, name)
            caller = need_owner(caller, repo)  # who asks comes before what they sent
            result = validate(body)
            data = result.model_dump()
            row = rows.add(s, repo_id=repo.id, data=data, by=caller.name)
            audit(s, caller.name, "eval.add", f"repo:{name}", None,
                  {"id": row.id, **{k: data.get(k) for k in ("benchmark", "metric", "value", "run_id")}})
            return {"id": row.id, "repo": name, **data, "submitted_by": caller.name}

    def delete_eval(self, caller: Caller | None, name: str, eval_id: int) -> dict:
        with self.core.write() as s:
            repo = find_repo(s, name)
            caller = need_owner(caller, repo)
            row = rows.by_id(s, eval_id=eval_id)
            if row is None or row.repo_id != repo.id:
                raise NotFound(N_("no eval result %(id)s on %(repo)s"), values={"id": eval_id, "repo": name})
            audit(s, caller.name, "eval.delete", f"repo:{name}", {"id": eval_id, "data": row.data}, None)
            rows.delete(s, row=row)
            return {"repo": name, "id": eval_id, "deleted": True}

    def evals(self, name: str) -> list[dict]:
        """Rows that still validate; the others are counted, not shown (delete them through the API)."""
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            out = []
            for r in rows.of_repo(s, repo_id=repo.id):
                data = readable(r.data)
                if data is not None:
                    out.append({"id": r.id, "repo": name, **data, "submitted_by": r.submitted_by,
                                "submitted_at": iso(r.created_at)})
            return out

    def leaderboard(self, benchmark: str = "humaneval") -> list[dict]:
        out: list[dict] = []
        with self.core.store.read() as s:
            for r, repo in rows.all_with_repo(s):
                data = readable(r.data)
                if data is not None and data["benchmark"] == benchmark:
                    out.append({"model": repo, "source": "measured on this hub", "submitted_by": r.submitted_by,
                                **{k: data.get(k) for k in ("metric", "value", "ci95", "samples", "settings")}})
        for facts in catalog.all():
            for score in facts.scores:
                if score.benchmark == benchmark:
                    out.append({"model": facts.id, "metric": score.metric, "value": score.value,
                                "source": score.source, "url": score.url,
                                "verified": score.verified})
        return sorted(out, key=lambda r: -(r.get("value") or 0))
