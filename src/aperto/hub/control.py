"""The kill switch, and the event feed and snapshot that gateways follow."""

from __future__ import annotations

import json

from aperto import events, sse
from aperto.errors import Forbidden
from aperto.hub.auth import Caller, iso, need, utcnow
from aperto.hub.core import Core, audit, emit
from aperto.hub.gate import find_repo, need_owner
from aperto.hub.i18n import N_
from aperto.hub.notify import Follower, event_dict, wire
from aperto.store import access as access_rows
from aperto.store import events as rows
from aperto.store import repos as repo_rows
from aperto.store import tokens as token_rows
from aperto.store.models import aware


def need_feed(caller: Caller | None) -> Caller:
    if caller is None:
        return need(caller, "gateway")
    if not (caller.admin or "gateway" in caller.scopes):
        raise Forbidden(N_("the event feed needs the gateway or admin scope"))
    return caller


class Control:
    def __init__(self, core: Core) -> None:
        self.core = core

    # ---- kill switch --------------------------------------------------------
    def kill(self, caller: Caller | None, repo: str | None, reason: str) -> dict:
        return self._kill_or_resume(caller, repo, reason or "no reason given", kill=True)

    def resume(self, caller: Caller | None, repo: str | None) -> dict:
        return self._kill_or_resume(caller, repo, "", kill=False)

    def _kill_or_resume(self, caller: Caller | None, repo: str | None, reason: str, kill: bool) -> dict:
        with self.core.write() as s:
            if repo is None:
                caller = need(caller, "admin")  # everything: administrators only
            else:
                caller = need_owner(caller, find_repo(s, repo))
            active = rows.kills_for(s, repo=repo)
            before = {"killed": bool(active)}
            if kill and not active:
                rows.add_kill(s, repo=repo, reason=reason)
            elif not kill:
                rows.remove(s, rows=active)
            kind = "kill" if kill else "resume"
            emit(s, events.Kill(repo=repo, data=events.KillData(reason=reason, by=caller.name)) if kill
                 else events.Resume(repo=repo, data=events.ByData(by=caller.name)))
            audit(s, caller.name, kind, f"repo:{repo}" if repo else "everything", before,
                  {"killed": kill, "reason": reason})
            return {"repo": repo, "killed": kill, "reason": reason}

    def kills(self) -> list[dict]:
        with self.core.store.read() as s:
            return [{"repo": k.repo, "reason": k.reason, "at": iso(k.at)} for k in rows.kills(s)]

    # ---- event feed ---------------------------------------------------------
    def events(self, caller: Caller | None, after: int = 0, limit: int = 500) -> dict:
        """The long-poll's answer as a dict (``events_json`` is what the route sends)."""
        return json.loads(self.events_json(caller, after, limit))

    def events_json(self, caller: Caller | None, after: int = 0, limit: int = 500) -> bytes:
        """The long-poll's answer: from the follower's memory when it reaches back to ``after`` (one
        query per wake-up and one encoding serve every waiter), else from the table."""
        follower = self._follow(caller, after)
        body = follower.since_json(after, limit)
        if body is None:
            with self.core.store.read() as s:
                found = [wire(event_dict(e)) for e in rows.after(s, seq=after, limit=limit)]
                last = max(follower.last_seq, rows.last_seq(s))
            body = b'{"events":[' + b",".join(found) + b'],"last_seq":%d' % last
        return body + b',"now":"%s"}' % (iso(utcnow()) or "").encode()

    def event_frames(self, caller: Caller | None, after: int = 0, limit: int = 500) -> tuple[bytes, int]:
        """The SSE stream's next events after ``after``, joined, and the last one's seq (``after``
        when there are none); from memory like ``events_json``."""
        follower = self._follow(caller, after)
        found = follower.since_frames(after, limit)
        if found is not None:
            return found
        with self.core.store.read() as s:
            older = [event_dict(e) for e in rows.after(s, seq=after, limit=limit)]
        return b"".join(sse.line_event(wire(e), e["seq"]) for e in older), older[-1]["seq"] if older else after

    def _follow(self, caller: Caller | None, after: int) -> Follower:
        need_feed(caller)
        follower = self.core.follower
        follower.start()
        if after > follower.last_seq:  # a snapshot from a replica that heard of newer events first
            follower.catch_up()
        return follower

    def gateway_state(self, caller: Caller | None) -> dict:
        need_feed(caller)
        with self.core.store.read() as s:
            seq = rows.last_seq(s)
            kills = [{"repo": k.repo, "reason": k.reason, "at": iso(k.at)} for k in rows.kills(s)]
            repos = repo_rows.repos(s)
            grants = access_rows.live_grant_pairs(s)
            tokens = token_rows.live_tokens(s, now=utcnow())
            owners = repo_rows.licensor_pairs(s)  # licensors always may use their own models
        pairs = list(dict.fromkeys([*grants, *owners]))
        return events.Snapshot(
            seq=seq, kills=[events.KillEntry(**k) for k in kills],
            takedowns=[r.name for r in repos if r.withdrawn],
            open_repos=[r.name for r in repos if r.gating == "open" and not r.withdrawn],
            grants=[events.GrantEntry(user=u, repo=r) for u, r in pairs],
            tokens=[events.TokenEntry(sha256=h, user=u, scopes=sc.split(), expires_at=ex and aware(ex))
                    for h, u, sc, ex in tokens]).wire()
