"""Migration 0006 on SQLite and PostgreSQL: a hub made before it (the two heads 0004 and 0005)
upgrades in place, its tokens keep working with no expiry, and the invitations table appears."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import inspect, text
from storekit import migration_heads, upgrade_to

from aperto.config import Settings
from aperto.hub.service import Hub
from aperto.store import Store


def test_a_hub_from_before_expiry_upgrades_and_its_tokens_still_work(tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    upgrade_to(store.engine, "0004", "0005")  # both heads, as every hub was before 0006
    raw = "aperto_from-before-expiry"
    with store.engine.begin() as conn:
        assert "expires_at" not in {c["name"] for c in inspect(conn).get_columns("tokens")}
        conn.execute(text("insert into users (id, name, is_admin, created_at) values (1, 'old', true, :t)"),
                     {"t": "2026-11-01 10:00:00"})
        conn.execute(text("insert into tokens (user_id, sha256, scopes, label, created_at) "
                          "values (1, :h, 'admin read', '', :t)"),
                     {"h": hashlib.sha256(raw.encode()).hexdigest(), "t": "2026-11-01 10:00:00"})
    store.close()
    hub = Hub(Settings(data_dir=tmp_path / "data", database_url=db_url))  # opening migrates to the head
    try:
        with hub.store.read() as s:
            assert set(s.execute(text("select version_num from alembic_version")).scalars()) == migration_heads()
        assert {"invites"} <= set(inspect(hub.store.engine).get_table_names())
        caller = hub.tokens.authenticate(raw)
        assert caller.name == "old" and caller.expires_at is None
        assert [t["expires_at"] for t in hub.tokens.list_tokens(caller)] == [None]
    finally:
        hub.close()
