"""The hub's HTTP app on PostgreSQL with the real huggingface_hub client: publish,
gated download after a grant, takedown, event feed. (The store tests cover the rest
of the PostgreSQL behaviour.)"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from hubtools import LLAMA_CARD, make_people, publish

from aperto.config import Settings
from aperto.hub.app import create_app
from aperto.hub.service import Hub

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_hub(tmp_path: Path):
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432 (start it to run the postgres variant)")
    from sqlalchemy import create_engine, text

    schema = "h_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    hub = Hub(Settings(data_dir=tmp_path / "data", database_url=f"{PG}?options=-csearch_path%3D{schema}"))
    yield hub
    hub.close()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_gated_download_grant_takedown_on_postgres(pg_hub: Hub, tmp_path: Path) -> None:
    import uvicorn
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import GatedRepoError

    people = make_people(pg_hub)
    publish(pg_hub, people.alice, "acme/pg", {"README.md": LLAMA_CARD.encode(), "w.bin": b"pg weights"},
            gating="manual")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(pg_hub.settings, pg_hub), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    live = f"http://127.0.0.1:{port}"
    try:
        with pytest.raises(GatedRepoError):
            hf_hub_download("acme/pg", "w.bin", endpoint=live, token=people.bob, cache_dir=tmp_path / "a")
        HfApi(endpoint=live, token=people.alice).grant_access("acme/pg", "bob")
        path = hf_hub_download("acme/pg", "w.bin", endpoint=live, token=people.bob, cache_dir=tmp_path / "b")
        assert Path(path).read_bytes() == b"pg weights"
        pg_hub.withdraw(pg_hub.authenticate(people.alice), "acme/pg", "dispute")
        state = pg_hub.gateway_state(pg_hub.authenticate(people.gw))
        assert state["takedowns"] == ["acme/pg"] and {"user": "bob", "repo": "acme/pg"} in state["grants"]
        assert pg_hub.verify_audit()["ok"]
    finally:
        server.should_exit = True
        thread.join(10)
