"""What every hub service shares: settings, the store, the blobs, and the two records
every change leaves behind (an audit row and, for gateways, an event)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from aperto import events
from aperto.config import Settings
from aperto.hub.auth import canonical, iso, utcnow
from aperto.store import BlobStore, Session, Store
from aperto.store import audit as audit_rows
from aperto.store import events as event_rows

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
        self.blobs = BlobStore(settings.data_dir, settings.max_upload_bytes)
        with self.store.read() as s:
            self.last_seq = event_rows.last_seq(s)
        self.seq_read_at = time.monotonic()
        self.stopping = False  # set on shutdown: open long-polls answer now instead of holding it up
        self.checkpointer: Checkpointer | None = None  # the Audit service installs itself

    @contextmanager
    def write(self) -> Iterator[Session]:
        events, note = False, None
        with self.store.write() as s:
            yield s
            events = bool(s.info.get("events"))
            if s.info.get("audited") and self.checkpointer:
                # in the same transaction: rows and the checkpoint vouching for them commit together
                note = self.checkpointer.seal(s)
        if events:  # wake long-polls in this process; other processes poll the table
            self.refresh_seq()
        if note and self.checkpointer:
            self.checkpointer.publish(note)

    def refresh_seq(self, max_age: float = 0.0) -> int:
        """Re-read the newest event number; with ``max_age``, at most that often, so that
        many waiting long-polls cost one query per interval, not one each."""
        now = time.monotonic()
        if max_age and now - self.seq_read_at < max_age:
            return self.last_seq
        self.seq_read_at = now
        with self.store.read() as s:
            self.last_seq = max(self.last_seq, event_rows.last_seq(s))
        return self.last_seq
