"""Migration 0007 on SQLite and PostgreSQL: a request written before reasons kept their templates
upgrades in place with none (NULL), still reads in Italian by its English text, and a new submission
on the upgraded hub stores its template and values."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import inspect, text
from storekit import upgrade_to

from aperto.config import Settings
from aperto.hub.access import WAITING
from aperto.hub.auth import Caller
from aperto.hub.routes.web_format import request_reason
from aperto.hub.service import Hub
from aperto.policy import Profile, evaluate
from aperto.store import Store

T = "2026-11-01 10:00:00"


def test_a_request_from_before_reason_templates_upgrades_and_still_reads(tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    upgrade_to(store.engine, "0006")
    decision = evaluate("llama2", Profile(mau=800_000_000)).to_dict()  # as stored then: English only
    first = decision["reasons"][0]
    reason = f"waiting for the licensor: {first['clause']}: {first['text']}"
    with store.engine.begin() as conn:
        assert "reason_msgid" not in {c["name"] for c in inspect(conn).get_columns("access_versions")}
        conn.execute(text("insert into users (id, name, is_admin, created_at) values (1, 'lic', true, :t), "
                          "(2, 'bob', false, :t)"), {"t": T})
        conn.execute(text("insert into repos (id, name, licensor_id, gating, license_id, withdrawn, created_at) "
                          "values (1, 'acme/llama', 1, 'auto', 'llama2', false, :t)"), {"t": T})
        conn.execute(text("insert into access_versions (repo_id, user_id, version, kind, fields, decision, status, "
                          "reason, created_at) values (1, 2, 1, 'submission', '{}', :d, 'pending', :r, :t)"),
                     {"d": json.dumps({**decision, "reasons": [first]}), "r": reason, "t": T})
    store.close()
    hub = Hub(Settings(data_dir=tmp_path / "data", database_url=db_url))  # opening migrates to the head
    try:
        bob = Caller(user_id=2, name="bob", org=None, is_admin=False, scopes=frozenset({"read"}))
        old = hub.access.my_request(bob, "acme/llama")
        assert (old["reason"], old["reason_msgid"], old["reason_values"]) == (reason, None, None)
        said = str(request_reason(old, "it"))
        assert said.startswith("in attesa del licenziante: §2: Gli utenti attivi mensili dichiarati"), said
        new = hub.access.request_access(bob, "acme/llama", {"org": "bobco", "accepts_aup": True, "mau": 10})
        assert new["reason_msgid"] != WAITING and new["reason_msgid"], new  # a re-submission while pending
        assert new["reason"] == new["reason_msgid"] % new["reason_values"]
        assert all(r["msgid"] for r in new["decision"]["reasons"])
    finally:
        hub.close()
