"""The HTTP feed at scale: waiters sleep until woken (in process, or by PostgreSQL NOTIFY from
another replica), one read of the event table serves all of them, tokens come from a cache that
revocations invalidate, and SSE resumes from Last-Event-ID."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fleetkit import until
from livekit import serve_url
from sqlalchemy import event as sa_event

from aperto.config import Settings
from aperto.hub.app import create_app
from aperto.hub.service import Hub
from aperto.store.listen import Listener

N_WAITERS = 50


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def sqlite_hub(tmp_path):
    from hubtools import make_people

    hub = Hub(Settings(data_dir=tmp_path / "data", database_url=None))
    yield hub, make_people(hub)
    hub.close()


def test_one_read_of_the_table_wakes_every_waiter(sqlite_hub, monkeypatch) -> None:
    # the follower's idle poll of SQLite would add one read per 0.1 s of a slow machine: park it
    monkeypatch.setattr("aperto.hub.notify.SQLITE_POLL_S", 60.0)
    hub, people = sqlite_hub
    event_reads = []
    sa_event.listen(hub.store.engine, "before_cursor_execute",
                    lambda conn, cur, stmt, *a: event_reads.append(stmt) if "FROM events" in stmt else None)
    with serve_url(create_app(hub.settings, hub)) as url:
        last = httpx.get(f"{url}/api/events", headers=auth(people.gw)).json()["last_seq"]

        async def waiters() -> list[dict]:
            async with httpx.AsyncClient(base_url=url, headers=auth(people.gw), timeout=30,
                                         limits=httpx.Limits(max_connections=N_WAITERS + 5)) as client:
                polls = [asyncio.create_task(client.get("/api/events", params={"after": last, "wait": 20}))
                         for _ in range(N_WAITERS)]
                await asyncio.to_thread(until, lambda: hub.core.follower.waiting == N_WAITERS, "all parked")
                event_reads.clear()
                await asyncio.to_thread(hub.control.kill, people.caller(people.admin), None, "stop")
                return [r.json() for r in await asyncio.gather(*polls)]

        answers = asyncio.run(waiters())
    assert all([e["type"] for e in a["events"]] == ["kill"] for a in answers)
    # the write wakes the follower in process: one read serves them all (before, one per waiter)
    assert 1 <= len(event_reads) <= 3, event_reads


def test_revoked_token_is_refused_on_the_next_request(sqlite_hub) -> None:
    hub, people = sqlite_hub
    with serve_url(create_app(hub.settings, hub)) as url:
        assert httpx.get(f"{url}/api/events", headers=auth(people.gw)).status_code == 200  # now cached
        assert people.gw.split("_")[0] == "aperto" and len(hub.tokens.cache) >= 1
        hub.tokens.revoke_token(people.caller(people.admin), people.gw)
        assert httpx.get(f"{url}/api/events", headers=auth(people.gw)).status_code == 401
        assert httpx.get(f"{url}/api/events/stream", headers=auth(people.gw)).status_code == 401


def test_sse_resumes_from_last_event_id(sqlite_hub) -> None:
    hub, people = sqlite_hub
    root = people.caller(people.admin)
    for reason in ("one", "two", "three"):
        hub.control.kill(root, None, reason)
        hub.control.resume(root, None)
    seqs = [e["seq"] for e in hub.control.events(root, 0)["events"]]
    with serve_url(create_app(hub.settings, hub)) as url, httpx.Client(base_url=url, timeout=10) as client:
        with client.stream("GET", "/api/events/stream", params={"after": 0},
                           headers={**auth(people.gw), "Last-Event-ID": str(seqs[-3])}) as r:
            assert r.status_code == 200
            ids = []
            for line in r.iter_lines():
                if line.startswith("id: "):
                    ids.append(int(line[4:]))
                if len(ids) == 2:
                    break
        assert ids == seqs[-2:]
        bad = client.get("/api/events/stream", headers={**auth(people.gw), "Last-Event-ID": "x1"})
        assert bad.status_code == 400 and "Last-Event-ID" in bad.json()["error"]


def test_shutdown_answers_open_long_polls(sqlite_hub) -> None:
    hub, people = sqlite_hub
    with serve_url(create_app(hub.settings, hub)) as url:
        last = hub.core.last_seq

        async def poll() -> httpx.Response:
            async with httpx.AsyncClient(base_url=url, headers=auth(people.gw), timeout=30) as client:
                task = asyncio.create_task(client.get("/api/events", params={"after": last, "wait": 25}))
                await asyncio.to_thread(until, lambda: hub.core.follower.waiting == 1, "parked")
                hub.stop_waiting()
                return await task

        answer = asyncio.run(poll())
    assert answer.status_code == 200 and answer.json()["events"] == []


def test_postgres_notify_reaches_a_listener(pg_url: str, tmp_path: Path) -> None:
    hub = Hub(Settings(data_dir=tmp_path, database_url=pg_url))
    listener = Listener(pg_url)
    try:
        assert listener.wait(0.05) is False
        with hub.core.write() as s:
            from aperto.events import Kill, KillData
            from aperto.hub.core import emit

            emit(s, Kill(data=KillData(reason="notify")))
        assert listener.wait(5) is True
    finally:
        listener.close()
        hub.close()


def test_a_replica_skips_its_own_notifications(pg_url: str, tmp_path) -> None:
    """The writer caught its own process up before returning: its listener need not read again."""
    hub = Hub(Settings(data_dir=tmp_path, database_url=pg_url))
    own, other = Listener(pg_url), Listener(pg_url)
    try:
        root = hub.tokens.authenticate(hub.tokens.bootstrap_admin())
        hub.control.kill(root, None, "own")
        assert other.wait(5, ignore="another replica") is True
        assert own.wait(0.3, ignore=hub.core.follower.name) is False
    finally:
        own.close()
        other.close()
        hub.close()


def test_a_change_through_one_replica_holds_on_the_other(pg_url: str, tmp_path) -> None:
    from hubtools import make_people

    a = Hub(Settings(data_dir=tmp_path / "a", database_url=pg_url))
    b = Hub(Settings(data_dir=tmp_path / "b", database_url=pg_url))
    people = make_people(a)
    try:
        with serve_url(create_app(b.settings, b)) as url:
            last = httpx.get(f"{url}/api/events", headers=auth(people.gw)).json()["last_seq"]

            async def waiter() -> dict:
                async with httpx.AsyncClient(base_url=url, headers=auth(people.gw), timeout=30) as client:
                    task = asyncio.create_task(client.get("/api/events", params={"after": last, "wait": 20}))
                    await asyncio.to_thread(until, lambda: b.core.follower.waiting == 1, "parked")
                    await asyncio.to_thread(a.control.kill, people.caller(people.admin), None, "via a")
                    return (await task).json()

            woke = asyncio.run(waiter())
            assert [e["type"] for e in woke["events"]] == ["kill"]
            # b cached the gateway token; a revokes it; b hears (NOTIFY) and refuses it
            a.tokens.revoke_token(people.caller(people.admin), people.gw)
            until(lambda: httpx.get(f"{url}/api/events", headers=auth(people.gw)).status_code == 401,
                  "replica b refuses the token revoked through a")
    finally:
        a.close()
        b.close()
