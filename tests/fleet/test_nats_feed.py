"""The event feed through NATS JetStream: the outbox relay (one leader, chosen by a PostgreSQL
advisory lock) publishes every event in order, with its seq as message id and the HTTP feed's JSON
as body; gateways follow the stream, fail closed when NATS stops and recover on their own, with no
event lost or applied twice; when the relay's hub dies, another relay takes over in order."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from pathlib import Path

import httpx
import nats
import pytest
from fleetkit import until
from livekit import serve_url

from aperto import services
from aperto.config import Settings
from aperto.hub.app import create_app
from aperto.hub.relay import STREAM, Relay
from aperto.hub.service import Hub

FAKE = "alice/fake"


class RelayThread:
    """A relay in its own thread and event loop; stop() is what a dying hub process does to it."""

    def __init__(self, hub: Hub, nats_url: str, heartbeat_s: float = 0.3) -> None:
        self.relay = Relay(hub.core, nats_url, heartbeat_s)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.task = self.loop.create_task(self.relay.run())
        try:
            self.loop.run_until_complete(self.task)
        except asyncio.CancelledError:
            pass
        finally:
            self.loop.close()

    def __enter__(self) -> RelayThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.task.cancel)
            self.thread.join(10)


def stream_events(nats_url: str) -> list[tuple[str, bytes, str | None]]:
    """Every message of the stream: (subject, body, message id)."""

    async def read() -> list[tuple[str, bytes, str | None]]:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            info = await js.stream_info(STREAM)
            found = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                msg = await js.get_msg(STREAM, seq)
                found.append((msg.subject, msg.data, (msg.headers or {}).get("Nats-Msg-Id")))
            return found
        finally:
            await nc.close()

    return asyncio.run(read())


@pytest.fixture
def fleet(pg_url: str, tmp_path: Path):
    from hubtools import make_people

    a = Hub(Settings(data_dir=tmp_path / "a", database_url=pg_url))
    b = Hub(Settings(data_dir=tmp_path / "b", database_url=pg_url))
    people = make_people(a)
    yield a, b, people
    a.close()
    b.close()


def test_relay_publishes_the_outbox_in_order_and_hands_over(fleet, nats_url: str) -> None:
    a, b, people = fleet
    root = people.caller(people.admin)
    a.control.kill(root, None, "first")
    with RelayThread(a, nats_url) as first, RelayThread(b, nats_url) as second:
        until(lambda: first.relay.leader or second.relay.leader, "a relay leads")
        leader, other = (first, second) if first.relay.leader else (second, first)
        until(lambda: leader.relay.published == a.core.last_seq, "the outbox published")
        assert not other.relay.leader
        leader.stop()  # its hub dies: the lock's connection closes, PostgreSQL releases the lock
        a.control.resume(root, None)
        b.control.kill(root, None, "second")
        newest = a.control.events(root, 0)["events"][-1]["seq"]
        until(lambda: other.relay.leader and other.relay.published == newest, "the other relay took over")
    with serve_url(create_app(a.settings, a)) as url:
        http = httpx.get(f"{url}/api/events", headers={"Authorization": f"Bearer {people.gw}"}).json()["events"]
    published = stream_events(nats_url)
    assert [json.loads(body) for _, body, _ in published] == http  # each once, in order, as HTTP says
    assert [(s, i) for s, _, i in published] == [(f"aperto.events.{e['type']}", str(e["seq"])) for e in http]


def test_duplicates_are_dropped_by_message_id(fleet, nats_url: str) -> None:
    a, _, people = fleet
    with RelayThread(a, nats_url) as relay:
        until(lambda: relay.relay.published == a.core.last_seq, "published")
    before = stream_events(nats_url)

    async def again() -> None:
        nc = await nats.connect(nats_url)
        subject, body, msg_id = before[-1]
        ack = await nc.jetstream().publish(subject, body, headers={"Nats-Msg-Id": msg_id})
        assert ack.duplicate
        await nc.close()

    asyncio.run(again())
    assert stream_events(nats_url) == before


def test_gateway_fails_closed_when_nats_stops_and_recovers_with_nothing_lost(fleet, tmp_path: Path) -> None:
    from gwkit import serve, settings_for

    from aperto.gateway import create_app as gateway_app
    from aperto.gateway.backends.fake import Fake

    a, _, people = fleet
    root = people.caller(people.admin)
    port = services.restartable_port()  # NATS comes back on it
    nats_url, store = f"nats://127.0.0.1:{port}", tmp_path / "js"
    with contextlib.ExitStack() as stack:
        hub_url = stack.enter_context(serve_url(create_app(a.settings, a)))
        stack.enter_context(RelayThread(a, nats_url))
        first_nats = stack.enter_context(contextlib.ExitStack())
        first_nats.enter_context(services.nats(store, port))
        settings = settings_for(tmp_path / "gw", hub_url=hub_url, token=people.gw, staleness_limit_s=1.5,
                                nats_url=nats_url)
        app = gateway_app(settings, backends={FAKE: Fake({"delay": 0.0}, settings)})
        gw = stack.enter_context(serve(app))
        gateway = app.state.gateway
        until(lambda: httpx.get(gw.url + "/readyz").status_code == 200, "the snapshot")
        applied: list[int] = []
        original = gateway.feed.apply
        gateway.feed.apply = lambda raw: (applied.append(raw["seq"]), original(raw))[1]
        a.control.kill(root, None, "over nats")
        until(lambda: None in gateway.policy.kills, "the kill reaches the gateway")
        assert gateway.feed.applied >= 1

        first_nats.close()  # NATS stops: no heartbeat, so the gateway refuses to serve after its limit
        until(lambda: httpx.get(gw.url + "/readyz").status_code == 503
              and "no word from the hub" in (httpx.get(gw.url + "/readyz").json()["stale"] or ""), "fail closed")
        a.control.resume(root, None)  # meanwhile: into the outbox, not lost
        a.control.kill(root, None, "again")
        a.control.resume(root, None)

        stack.enter_context(services.nats(store, port))  # it returns; the gateway recovers on its own
        until(lambda: gateway.policy.seq == a.core.last_seq and httpx.get(gw.url + "/readyz").status_code == 200,
              "recovery", timeout=20)
        assert None not in gateway.policy.kills
        assert len(applied) == len(set(applied)), applied  # nothing applied twice


def test_the_stream_takes_more_than_a_thousand_gateways(nats_url: str) -> None:
    """nats-server 2.15 caps a stream with no limit of its own at 1,000 consumers; every gateway holds
    one. A stream made before the relay set its limit is lifted too."""
    from nats.js.api import ConsumerConfig, DeliverPolicy, StreamConfig

    from aperto.hub.relay import SUBJECTS, ensure_stream

    async def check() -> int:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            await js.add_stream(StreamConfig(name=STREAM, subjects=[SUBJECTS]))  # as an older relay made it
            await ensure_stream(js)
            for i in range(1001):
                await js.add_consumer(STREAM, ConsumerConfig(durable_name=f"gw{i}", deliver_policy=DeliverPolicy.ALL))
            return (await js.stream_info(STREAM)).state.consumer_count
        finally:
            await nc.close()

    assert asyncio.run(check()) == 1001
