"""Store behaviour on SQLite and PostgreSQL: migrations, durability, the audit
chain (and tampering with it), hashed tokens, crash-safe blobs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text, update
from storekit import migration_heads

from aperto.config import Settings
from aperto.errors import BadInput, Conflict
from aperto.hub.service import Hub
from aperto.store import BlobStore, Store, migrate
from aperto.store.models import Audit, Token


def open_hub(tmp_path: Path, db_url: str) -> Hub:
    return Hub(Settings(data_dir=tmp_path / "data", database_url=db_url))


def test_migrations_create_every_table_and_are_idempotent(db_url: str) -> None:
    store = Store(db_url)
    migrate(store.engine)
    migrate(store.engine)  # a second start changes nothing
    tables = set(inspect(store.engine).get_table_names())
    assert {"users", "tokens", "repos", "commits", "files", "access_versions", "web_sessions", "grants", "events", "audit",
            "kills", "eval_results", "alembic_version"} <= tables
    with store.read() as s:
        versions = set(s.execute(text("select version_num from alembic_version")).scalars())
    assert versions == migration_heads() and versions
    store.close()


def test_tokens_are_stored_as_sha256_only(tmp_path: Path, db_url: str) -> None:
    hub = open_hub(tmp_path, db_url)
    raw = hub.tokens.bootstrap_admin()
    assert raw and raw.startswith("aperto_")
    assert hub.tokens.bootstrap_admin() is None  # only on an empty hub
    with hub.store.read() as s:
        stored = s.scalars(select(Token.sha256)).all()
    assert stored == [hashlib.sha256(raw.encode()).hexdigest()]
    with hub.store.engine.connect() as conn:
        dump = "\n".join(str(row) for row in conn.execute(text("select * from tokens")))
    assert raw not in dump
    hub.close()


def test_a_restart_keeps_every_committed_record(tmp_path: Path, db_url: str) -> None:
    hub = open_hub(tmp_path, db_url)
    admin = hub.tokens.bootstrap_admin()
    root = hub.tokens.authenticate(admin)
    hub.tokens.create_user(root, "alice", org="acme")
    token = hub.tokens.create_token(root, "alice", ["read", "publish"])
    caller = hub.tokens.authenticate(token)
    data = b"weights" * 1000
    sha = hashlib.sha256(data).hexdigest()
    hub.repos.upload(caller, "acme/m", sha, len(data), 0, [data])
    commit = hub.repos.commit(caller, "acme/m", [{"path": "m.bin", "sha256": sha, "size": len(data)}], "first")
    hub.control.kill(root, None, "drill")
    hub.close()  # as good as a crash for committed transactions: nothing is cached in memory

    again = open_hub(tmp_path, db_url)
    assert again.tokens.authenticate(token).name == "alice"
    info = again.repos.file(again.tokens.authenticate(token), "acme/m", "main", "m.bin")
    assert info["commit"] == commit["commit"] and info["blob"].read_bytes() == data
    assert again.control.kills()[0]["reason"] == "drill"
    assert again.audit.verify_audit()["ok"] is True
    assert again.core.last_seq >= 3
    again.close()


def test_audit_chain_verifies_and_names_a_tampered_row(tmp_path: Path, db_url: str) -> None:
    hub = open_hub(tmp_path, db_url)
    root = hub.tokens.authenticate(hub.tokens.bootstrap_admin())
    for name in ("u1", "u2", "u3"):
        hub.tokens.create_user(root, name)
    result = hub.audit.verify_audit()
    assert result["ok"] is True and result["rows"] == 4
    rows = list(hub.audit.iter_audit())
    assert rows[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(rows, rows[1:], strict=False))
    with hub.store.write() as s:  # someone edits row 3 directly in the database
        s.execute(update(Audit).where(Audit.seq == 3).values(after='{"name":"mallory"}'))
    result = hub.audit.verify_audit()
    assert result["ok"] is False and result["bad_seq"] == 3
    assert "row 3" in result["why"]
    hub.close()


def test_deleting_an_audit_row_breaks_the_chain(tmp_path: Path, db_url: str) -> None:
    hub = open_hub(tmp_path, db_url)
    root = hub.tokens.authenticate(hub.tokens.bootstrap_admin())
    hub.tokens.create_user(root, "u1")
    hub.tokens.create_user(root, "u2")
    with hub.store.write() as s:
        s.execute(Audit.__table__.delete().where(Audit.seq == 2))
    result = hub.audit.verify_audit()
    assert result["ok"] is False and result["bad_seq"] == 3
    hub.close()


def test_concurrent_writers_keep_one_chain(tmp_path: Path, db_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    hub = open_hub(tmp_path, db_url)
    root = hub.tokens.authenticate(hub.tokens.bootstrap_admin())
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: hub.tokens.create_user(root, f"user{i}"), range(24)))
    result = hub.audit.verify_audit()
    assert result == {"ok": True, "rows": 25, "head": result["head"], "checkpoint": 25, "key": hub.audit.key.vkey}
    with hub.store.read() as s:
        assert s.scalar(select(Audit.seq).order_by(Audit.seq.desc()).limit(1)) == 25
    hub.close()


def test_blob_is_invisible_until_complete_and_verified(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    data = b"x" * 5000
    sha = hashlib.sha256(data).hexdigest()
    assert blobs.append(1, sha, len(data), 0, [data[:2000]]) == 2000
    assert not blobs.has(sha)  # a crash now leaves only uploads/*.part, never a blob
    assert blobs.received(1, sha) == 2000
    with pytest.raises(Conflict):
        blobs.append(1, sha, len(data), 0, [data])  # wrong offset
    blobs.append(1, sha, len(data), 2000, [data[2000:]])
    path = blobs.finish(1, sha, len(data))
    assert path.read_bytes() == data and blobs.has(sha)
    assert list(blobs.uploads.glob("*.part")) == []  # only the proof-of-upload marker remains


def test_blob_with_wrong_bytes_is_discarded(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    sha = hashlib.sha256(b"good").hexdigest()
    blobs.append(1, sha, 4, 0, [b"evil"])
    with pytest.raises(BadInput):
        blobs.finish(1, sha, 4)
    assert not blobs.has(sha) and blobs.received(1, sha) == 0
    with pytest.raises(BadInput):
        blobs.append(1, sha, 4, 0, [b"too long"])


def test_blob_names_must_be_sha256(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    for bad in ("../../etc/passwd", "ab", "Z" * 64):
        with pytest.raises(BadInput):
            blobs.path(bad)


def test_access_flow_events_and_state_on_this_database(tmp_path: Path, db_url: str) -> None:
    """The whole request -> queue -> grant -> revoke -> takedown -> kill path, on SQLite and PostgreSQL."""
    hub = open_hub(tmp_path, db_url)
    root = hub.tokens.authenticate(hub.tokens.bootstrap_admin())
    hub.tokens.create_user(root, "alice", org="acme")
    hub.tokens.create_user(root, "bob")
    alice = hub.tokens.authenticate(hub.tokens.create_token(root, "alice", ["read", "publish"]))
    bob = hub.tokens.authenticate(hub.tokens.create_token(root, "bob", ["read"]))
    data = b"---\nlicense: llama3.1\n---\n"
    sha = hashlib.sha256(data).hexdigest()
    hub.repos.upload(alice, "acme/m", sha, len(data), 0, [data])
    hub.repos.commit(alice, "acme/m", [{"path": "README.md", "sha256": sha, "size": len(data)}], gating="manual")
    assert hub.access.request_access(bob, "acme/m", {"mau": 5, "use": "research", "accepts_aup": True})["status"] == "pending"
    assert not hub.repos.can_download(bob, "acme/m")
    hub.access.handle_request(alice, "acme/m", "bob", "accepted")
    assert hub.repos.can_download(bob, "acme/m")
    hub.access.revoke_access(alice, "acme/m", "bob", "breach")
    assert not hub.repos.can_download(bob, "acme/m")
    hub.repos.withdraw(alice, "acme/m", "dispute")
    hub.control.kill(alice, "acme/m", "unsafe")
    state = hub.control.gateway_state(root)
    assert state["takedowns"] == ["acme/m"] and state["kills"][0]["repo"] == "acme/m"
    types = [e["type"] for e in hub.control.events(root, 0)["events"]]
    assert types.count("token-created") == 3
    assert types[-4:] == ["grant", "revoke", "takedown", "kill"]
    assert hub.audit.verify_audit()["ok"]
    hub.close()


def test_two_hub_processes_share_one_audit_chain(tmp_path: Path, db_url: str) -> None:
    """Two Hub objects (as two processes would: separate in-process locks) write at once;
    the database-level lock keeps one linear chain."""
    from concurrent.futures import ThreadPoolExecutor

    first = open_hub(tmp_path, db_url)
    second = open_hub(tmp_path, db_url)
    token = first.tokens.bootstrap_admin()
    roots = [first.tokens.authenticate(token), second.tokens.authenticate(token)]
    hubs = [first, second]
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda i: hubs[i % 2].tokens.create_user(roots[i % 2], f"user{i}"), range(20)))
    result = first.audit.verify_audit()
    assert result["ok"] is True and result["rows"] == 21
    first.close()
    second.close()
