"""The usage ledger: requests and tokens per UTC day, licensee (the token's user) and model, added
up from what gateways report (events.UsageReport), read by licensors for their own models."""

from __future__ import annotations

from typing import Any

from aperto.errors import BadInput, Forbidden
from aperto.events import parse_usage
from aperto.hub.auth import Caller, iso, need, utcnow
from aperto.hub.core import Core
from aperto.hub.gate import find_repo, need_owner
from aperto.hub.i18n import N_
from aperto.store import repos as repo_rows
from aperto.store import usage as rows


class Usage:
    def __init__(self, core: Core) -> None:
        self.core = core

    def report(self, caller: Caller | None, raw: Any) -> dict[str, Any]:
        caller = need(caller, "gateway")
        if not (caller.admin or "gateway" in caller.scopes):
            raise Forbidden(N_("usage reports need the gateway scope"))
        report = parse_usage(raw)
        with self.core.write() as s:
            if rows.seen(s, report_id=report.id):
                return {"id": report.id, "counted": False}  # a retry: already in the ledger
            for line in report.lines:
                rows.add(s, day=line.day, user=line.user, repo=line.repo,
                         counts={"requests": line.requests, "prompt_tokens": line.prompt_tokens,
                                 "completion_tokens": line.completion_tokens})
            rows.mark(s, report_id=report.id, at=iso(utcnow()) or "")
        return {"id": report.id, "counted": True, "lines": len(report.lines)}

    def read(self, caller: Caller | None, repo: str | None = None, since: str | None = None) -> list[dict[str, Any]]:
        """An administrator sees every model; a licensor, their own (one, or all with ``repo`` None)."""
        caller = need(caller, "read")
        if since is not None and not (len(since) == 10 and since[4] == "-" and since[7] == "-"):
            raise BadInput(N_("since must be a day like 2026-01-31, got %(since)s"), values={"since": repr(since[:40])})
        with self.core.store.read() as s:
            if repo is not None:
                need_owner(caller, find_repo(s, repo))
                repos: list[str] | None = [repo]
            elif caller.admin:
                repos = None
            else:
                repos = [r for u, r in repo_rows.licensor_pairs(s) if u == caller.name]
            return rows.rows(s, repos=repos, since=since)
