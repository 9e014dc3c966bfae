"""Reading and checking the hash-chained audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator

from aperto.hub.auth import Caller, need
from aperto.hub.core import GENESIS, Core, audit_hash
from aperto.store import audit as rows


class Audit:
    def __init__(self, core: Core) -> None:
        self.core = core

    def audit_rows(self, caller: Caller | None, after: int = 0, limit: int = 1000) -> list[dict]:
        need(caller, "admin")
        return list(self.iter_audit(after, limit))

    def iter_audit(self, after: int = 0, limit: int | None = None) -> Iterator[dict]:
        with self.core.store.read() as s:
            for a in rows.rows(s, after=after, limit=limit):
                yield {"seq": a.seq, "actor": a.actor, "action": a.action, "subject": a.subject,
                       "before": json.loads(a.before), "after": json.loads(a.after), "at": a.at,
                       "prev_hash": a.prev_hash, "hash": a.hash}

    def verify_audit(self) -> dict:
        """Recompute the chain. The first row whose hash or link is wrong is named."""
        prev, count = GENESIS, 0
        with self.core.store.read() as s:
            for a in rows.rows(s):
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
