"""Hubs on two schemas of one PostgreSQL database do not share the write lock, the relay's lock or
the NOTIFY channel: advisory locks and channels are per database, so each carries the schema."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from aperto.hub.relay import RELAY_LOCK
from aperto.store.db import PG_WRITE_LOCK, Store, scratch_schema
from aperto.store.listen import LeaderLock

pytestmark = pytest.mark.postgres


def try_lock(store: Store, key: int) -> bool:
    """Whether another connection could take ``key`` now (released again at once)."""
    with store.engine.begin() as conn:
        return bool(conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}))


def test_a_write_on_one_schema_leaves_another_schema_free(pg_url: str, pg_server: str) -> None:
    with scratch_schema(pg_server) as other_url:
        mine, same, other = Store(pg_url), Store(pg_url), Store(other_url)
        try:
            assert mine.schema != other.schema
            with mine.write():
                assert try_lock(other, other.lock_key(PG_WRITE_LOCK))  # another schema's writer goes on
                assert not try_lock(same, same.lock_key(PG_WRITE_LOCK))  # a replica of this one waits
            assert try_lock(same, same.lock_key(PG_WRITE_LOCK))
        finally:
            for store in (mine, same, other):
                store.close()


def test_each_schema_has_its_own_relay(pg_url: str, pg_server: str) -> None:
    with scratch_schema(pg_server) as other_url:
        mine, other = Store(pg_url), Store(other_url)
        leader = LeaderLock(pg_url, mine.lock_key(RELAY_LOCK))
        try:
            assert leader.try_acquire()
            assert try_lock(other, other.lock_key(RELAY_LOCK))
            assert not try_lock(mine, mine.lock_key(RELAY_LOCK))
        finally:
            leader.close()
            mine.close()
            other.close()


def test_the_default_schema_keeps_the_key_older_hubs_take(pg_server: str) -> None:
    """A rolling upgrade: a hub from before the schema-scoped keys locks the bare key on ``public``,
    and a newer replica on ``public`` must wait for it."""
    store, newer = Store(pg_server), Store(pg_server)
    try:
        if store.schema != "public":
            pytest.fail(f"the server's default schema is {store.schema!r}, not public; this test needs it")
        assert store.lock_key(PG_WRITE_LOCK) == PG_WRITE_LOCK
        with store.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_WRITE_LOCK})  # the older hub
            assert not try_lock(newer, newer.lock_key(PG_WRITE_LOCK))
    finally:
        store.close()
        newer.close()


def test_each_schema_has_its_own_notify_channel(pg_url: str, pg_server: str) -> None:
    """A write on one schema wakes that schema's listeners only; public keeps the bare channel."""
    from aperto.store.listen import CHANNEL, Listener, notify

    with scratch_schema(pg_server) as other_url:
        mine, other = Store(pg_url), Store(other_url)
        here, there, public = Listener(pg_url), Listener(other_url), Listener(pg_server)
        try:
            assert public.channel == CHANNEL and len({here.channel, there.channel, CHANNEL}) == 3
            with mine.write() as s:
                notify(s, mine.schema, "a write here")
            assert here.wait(5) is True
            assert there.wait(0.3) is False and public.wait(0.01) is False
        finally:
            for closable in (here, there, public, mine, other):
                closable.close()
