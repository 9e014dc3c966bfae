"""Kill switch, the event feed for gateways, evaluation results, audit checks."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from aperto.errors import BadInput, Forbidden
from aperto.hub.access import AccessMixin
from aperto.hub.base import GENESIS, Caller, audit_hash, iso, need, utcnow
from aperto.store.models import Audit, EvalResult, Event, Grant, Kill, Repo, Token, User


def event_dict(e: Event) -> dict:
    return {"seq": e.seq, "type": e.type, "repo": e.repo, "user": e.user, "data": e.data, "at": iso(e.at)}


class ControlMixin(AccessMixin):
    def _need_feed(self, caller: Caller | None) -> Caller:
        if caller is None:
            return need(caller, "gateway")
        if not (caller.admin or "gateway" in caller.scopes):
            raise Forbidden("the event feed needs the gateway or admin scope")
        return caller

    # ---- kill switch --------------------------------------------------------
    def kill(self, caller: Caller | None, repo: str | None, reason: str) -> dict:
        return self._kill_or_resume(caller, repo, reason or "no reason given", kill=True)

    def resume(self, caller: Caller | None, repo: str | None) -> dict:
        return self._kill_or_resume(caller, repo, "", kill=False)

    def _kill_or_resume(self, caller: Caller | None, repo: str | None, reason: str, kill: bool) -> dict:
        with self._write() as s:
            if repo is None:
                caller = need(caller, "admin")  # everything: administrators only
            else:
                caller = self._need_owner(caller, self._repo(s, repo))
            active = s.scalars(select(Kill).where(Kill.repo.is_(None) if repo is None else Kill.repo == repo)).all()
            before = {"killed": bool(active)}
            if kill:
                if not active:
                    s.add(Kill(repo=repo, reason=reason, at=utcnow()))
            else:
                for row in active:
                    s.delete(row)
            kind = "kill" if kill else "resume"
            self._event(s, kind, repo, None, {"reason": reason, "by": caller.name} if kill else {"by": caller.name})
            self._audit(s, caller.name, kind, f"repo:{repo}" if repo else "everything", before,
                        {"killed": kill, "reason": reason})
            return {"repo": repo, "killed": kill, "reason": reason}

    # ---- event feed ---------------------------------------------------------
    def events(self, caller: Caller | None, after: int = 0, limit: int = 500) -> dict:
        self._need_feed(caller)
        with self.store.read() as s:
            rows = s.scalars(select(Event).where(Event.seq > after).order_by(Event.seq).limit(limit)).all()
            last = s.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1)) or 0
        return {"events": [event_dict(e) for e in rows], "last_seq": last, "now": iso(utcnow())}

    def gateway_state(self, caller: Caller | None) -> dict:
        self._need_feed(caller)
        with self.store.read() as s:
            seq = s.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1)) or 0
            kills = [{"repo": k.repo, "reason": k.reason, "at": iso(k.at)} for k in s.scalars(select(Kill))]
            repos = s.scalars(select(Repo).order_by(Repo.name)).all()
            grants = s.execute(select(User.name, Repo.name).select_from(Grant)
                               .join(User, Grant.user_id == User.id).join(Repo, Grant.repo_id == Repo.id)
                               .where(Grant.revoked_at.is_(None)).order_by(Grant.id)).all()
            tokens = s.execute(select(Token.sha256, User.name, Token.scopes).join(User, Token.user_id == User.id)
                               .where(Token.revoked_at.is_(None)).order_by(Token.id)).all()
            # licensors always may use their own models
            owners = s.execute(select(User.name, Repo.name).join(Repo, Repo.licensor_id == User.id)).all()
        grant_list = [{"user": u, "repo": r} for u, r in grants]
        for u, r in owners:
            if {"user": u, "repo": r} not in grant_list:
                grant_list.append({"user": u, "repo": r})
        return {"seq": seq, "kills": kills, "takedowns": [r.name for r in repos if r.withdrawn],
                "open_repos": [r.name for r in repos if r.gating == "open" and not r.withdrawn],
                "grants": grant_list,
                "tokens": [{"sha256": h, "user": u, "scopes": sc.split()} for h, u, sc in tokens]}

    def kills(self) -> list[dict]:
        with self.store.read() as s:
            return [{"repo": k.repo, "reason": k.reason, "at": iso(k.at)} for k in s.scalars(select(Kill))]

    # ---- evaluation results ---------------------------------------------------
    def add_eval(self, caller: Caller | None, name: str, body: dict[str, Any]) -> dict:
        with self._write() as s:
            repo = self._repo(s, name)
            caller = self._need_owner(caller, repo)
            if not isinstance(body, dict) or not body.get("benchmark") or not body.get("metric"):
                raise BadInput("an eval result needs benchmark, metric and value")
            try:
                value = float(body.get("value"))
            except (TypeError, ValueError) as exc:
                raise BadInput("value must be a number") from exc
            if not math.isfinite(value):
                raise BadInput("value must be a finite number")
            data = {**body, "value": value}
            s.add(EvalResult(repo_id=repo.id, data=data, submitted_by=caller.name, created_at=utcnow()))
            self._audit(s, caller.name, "eval.add", f"repo:{name}", None,
                        {k: data.get(k) for k in ("benchmark", "metric", "value", "run_id")})
            return {"repo": name, **data, "submitted_by": caller.name}

    def evals(self, name: str) -> list[dict]:
        with self.store.read() as s:
            repo = self._repo(s, name)
            rows = s.scalars(select(EvalResult).where(EvalResult.repo_id == repo.id).order_by(EvalResult.id))
            return [{"repo": name, **r.data, "submitted_by": r.submitted_by, "submitted_at": iso(r.created_at)}
                    for r in rows]

    def leaderboard(self, benchmark: str = "humaneval") -> list[dict]:
        rows: list[dict] = []
        with self.store.read() as s:
            for r, repo in s.execute(select(EvalResult, Repo.name).join(Repo, EvalResult.repo_id == Repo.id)):
                if r.data.get("benchmark") == benchmark:
                    rows.append({"model": repo, "source": "measured on this hub", "submitted_by": r.submitted_by,
                                 **{k: r.data.get(k) for k in ("metric", "value", "ci95", "samples", "settings")}})
        try:  # published figures, each with its source, from the catalogue
            from aperto import catalog

            for facts in catalog.all():
                for score in getattr(facts, "scores", ()):
                    if score.benchmark == benchmark:
                        rows.append({"model": facts.id, "metric": score.metric, "value": score.value,
                                     "source": score.source, "url": getattr(score, "url", ""),
                                     "verified": getattr(score, "verified", False)})
        except ImportError:
            pass
        return sorted(rows, key=lambda r: -(r.get("value") or 0))

    # ---- audit -------------------------------------------------------------------
    def audit_rows(self, caller: Caller | None, after: int = 0, limit: int = 1000) -> list[dict]:
        need(caller, "admin")
        return list(self.iter_audit(after, limit))

    def iter_audit(self, after: int = 0, limit: int | None = None) -> Iterator[dict]:
        with self.store.read() as s:
            q = select(Audit).where(Audit.seq > after).order_by(Audit.seq)
            if limit:
                q = q.limit(limit)
            for a in s.scalars(q):
                yield {"seq": a.seq, "actor": a.actor, "action": a.action, "subject": a.subject,
                       "before": json.loads(a.before), "after": json.loads(a.after), "at": a.at,
                       "prev_hash": a.prev_hash, "hash": a.hash}

    def verify_audit(self) -> dict:
        """Recompute the chain. The first row whose hash or link is wrong is named."""
        prev, count = GENESIS, 0
        with self.store.read() as s:
            for a in s.scalars(select(Audit).order_by(Audit.seq)).yield_per(1000):
                count += 1
                row = {"seq": a.seq, "actor": a.actor, "action": a.action, "subject": a.subject,
                       "before": a.before, "after": a.after, "at": a.at, "prev_hash": a.prev_hash}
                if a.seq != count:
                    return {"ok": False, "rows": count, "bad_seq": a.seq, "why": f"row {count} is missing"}
                if a.prev_hash != prev:
                    return {"ok": False, "rows": count, "bad_seq": a.seq,
                            "why": f"row {a.seq} does not link to row {a.seq - 1}"}
                if audit_hash(row) != a.hash:
                    return {"ok": False, "rows": count, "bad_seq": a.seq,
                            "why": f"row {a.seq} was altered (its hash does not match its contents)"}
                prev = a.hash
        return {"ok": True, "rows": count, "head": prev}
