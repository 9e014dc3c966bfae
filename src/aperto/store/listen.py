"""PostgreSQL LISTEN/NOTIFY for the event table: a hub that appends events notifies in the same
transaction (delivered on commit), and every hub replica listens, so none has to poll.
Channels are per database, so each schema gets its own (``channel``): a hub is not woken by
another schema's writes."""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from aperto.store.db import schema_scope

CHANNEL = "aperto_events"


def channel(schema: str) -> str:
    """The schema's channel (see db.schema_scope): a plain identifier whatever the schema's name."""
    scope = schema_scope(schema)
    return CHANNEL if scope is None else f"{CHANNEL}_{scope:08x}"


def notify(s: Session, schema: str, sender: str = "") -> None:
    """Inside a write: PostgreSQL sends it to every listener when the transaction commits. ``sender``
    (the payload) lets the writing process's own listener skip it: its writer already caught up."""
    s.execute(text("SELECT pg_notify(:c, :p)"), {"c": channel(schema), "p": sender})


class Listener:
    """One dedicated connection (not from the pool) that waits for notifications."""

    def __init__(self, url: str) -> None:
        import psycopg  # the postgres extra; SQLite hubs never get here

        plain = make_url(url).set(drivername="postgresql")
        self.conn = psycopg.connect(plain.render_as_string(hide_password=False), autocommit=True)
        row = self.conn.execute("SELECT current_schema()").fetchone()
        self.channel = channel(str(row[0] or "") if row else "")
        self.conn.execute(f"LISTEN {self.channel}")  # channel() gives a plain identifier

    def wait(self, timeout: float, ignore: str | None = None) -> bool:
        """Block until a notification arrives (True) or ``timeout`` passes (False); one whose payload
        is ``ignore`` does not count."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            for note in self.conn.notifies(timeout=left, stop_after=1):
                if ignore is None or note.payload != ignore:
                    return True
        return False

    def close(self) -> None:
        self.conn.close()


class LeaderLock:
    """A session-level advisory lock on a dedicated connection: held while the connection lives,
    released by PostgreSQL itself when the holder's process or connection dies."""

    def __init__(self, url: str, key: int) -> None:
        import psycopg

        plain = make_url(url).set(drivername="postgresql")
        self.conn = psycopg.connect(plain.render_as_string(hide_password=False), autocommit=True)
        self.key = key

    def try_acquire(self) -> bool:
        row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        return bool(row and row[0])

    def alive(self) -> bool:
        self.conn.execute("SELECT 1")
        return True

    def close(self) -> None:
        self.conn.close()
