"""What every hub service shares: settings, the store, the blobs, and the two records
every change leaves behind (an audit row and, for gateways, an event)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from aperto import events
from aperto.config import Settings
from aperto.hub.auth import canonical, iso, utcnow
from aperto.hub.cache import MetadataCache
from aperto.hub.notify import Follower
from aperto.store import Session, Store, listen
from aperto.store import audit as audit_rows
from aperto.store import events as event_rows
from aperto.store.blobs import open_blobs

GENESIS = "0" * 64
AUDIT_FIELDS = ("seq", "actor", "action", "subject", "before", "after", "at", "prev_hash")


def audit_hash(row: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: row[k] for k in AUDIT_FIELDS}).encode()).hexdigest()


def audit(s: Session, actor: str, action: str, subject: str, before: Any, after: Any) -> None:
    """Append one row to the hash chain. Runs inside Store.write(), which serialises
    writers, so reading the tail and appending cannot interleave."""
    last = audit_rows.tail(s)
    row: dict[str, Any] = {"seq": (last.seq + 1) if last else 1, "actor": actor, "action": action,
                           "subject": subject, "before": canonical(before), "after": canonical(after),
                           "at": iso(utcnow()), "prev_hash": last.hash if last else GENESIS}
    audit_rows.add(s, row={**row, "hash": audit_hash(row)})
    s.info["audited"] = True  # Core.write signs a checkpoint of the new head before it commits


def emit(s: Session, event: events.Event) -> None:
    """Record an event for the gateways (the events table is the outbox). Only the contract's
    typed classes go in, so every gateway can read what the hub writes."""
    event_rows.append(s, **event.row())


class Checkpointer(Protocol):
    def seal(self, s: Session) -> str | None: ...

    def publish(self, note: str) -> None: ...


class Core:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store.open(settings)
        self.blobs = open_blobs(settings)  # a local folder, or S3 (APERTO_BLOB_URL)
        self.follower = Follower(self.store)  # newest events, for every waiter and cache of this process
        self.metadata = MetadataCache(self.follower)  # model_info, trees, downloads' authorisation
        self.checkpointer: Checkpointer | None = None  # the Audit service installs itself

    @contextmanager
    def write(self) -> Iterator[Session]:
        events, note = False, None
        with self.store.write() as s:
            yield s
            events = bool(s.info.get("events"))
            if events and self.store.is_postgres:
                listen.notify(s, self.store.schema, self.follower.name)  # other replicas hear of it when this commits
            if s.info.get("audited") and self.checkpointer:
                # in the same transaction: rows and the checkpoint vouching for them commit together
                note = self.checkpointer.seal(s)
        if events:  # before the writer returns: caches forget what changed, long-polls wake
            self.follower.catch_up()
        if note and self.checkpointer:
            self.checkpointer.publish(note)

    @property
    def last_seq(self) -> int:
        return self.follower.last_seq

    @property
    def stopping(self) -> bool:
        return self.follower.stopping

    @stopping.setter
    def stopping(self, value: bool) -> None:
        """Set on shutdown: open long-polls answer now instead of holding it up."""
        if value:
            self.follower.stop_waiting()
