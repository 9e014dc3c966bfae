"""The usage ledger: the gateway counts requests and tokens per day, user and model from the usage
chunk, reports them (events.UsageReport, shared by both sides), the hub adds them up once per report
id, and licensors read their own models' figures through the API."""

from __future__ import annotations

import httpx
import pytest
from fleetkit import until
from livekit import serve_url

from aperto.config import Settings
from aperto.errors import BadInput
from aperto.events import UsageLine, parse_usage
from aperto.gateway.usage import UsageLedger
from aperto.hub.app import create_app
from aperto.hub.service import Hub
from aperto.hub.usage import Usage

REPO = "alice/open-tiny"
CARD = b"---\nlicense: apache-2.0\n---\n# Tiny\n"


@pytest.fixture
def hub(tmp_path):
    from hubtools import make_people, publish

    hub = Hub(Settings(data_dir=tmp_path / "hub", database_url=None))
    people = make_people(hub)
    publish(hub, people.alice, REPO, {"README.md": CARD}, gating="open")
    yield hub, people
    hub.close()


def test_what_the_gateway_sends_the_hub_stores_field_by_field(hub) -> None:
    hub, people = hub
    ledger = UsageLedger()
    ledger.count("bob", REPO, b'{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":11,"total_tokens":18}}')
    ledger.count("bob", REPO, {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}})
    report = ledger.drain()
    assert report is not None and ledger.drain() is None
    sent = parse_usage(report.wire())  # the hub's reader takes what the gateway writes
    usage = Usage(hub.core)
    assert usage.report(people.caller(people.gw), sent.wire())["counted"] is True
    stored = usage.read(people.caller(people.alice), REPO)
    # every field the gateway sends comes back from the hub: a field one side drops fails here
    assert [{k: row[k] for k in UsageLine.model_fields} for row in stored] == \
        [line.model_dump() for line in report.lines]
    assert stored[0]["requests"] == 2 and stored[0]["prompt_tokens"] == 8 and stored[0]["completion_tokens"] == 13
    assert usage.report(people.caller(people.gw), sent.wire())["counted"] is False  # a retry counts once
    assert usage.read(people.caller(people.alice), REPO)[0]["requests"] == 2
    with pytest.raises(BadInput):
        parse_usage({"id": "short", "lines": []})


def test_gateway_reports_and_the_licensor_reads(hub, tmp_path, monkeypatch) -> None:
    from gwkit import serve, settings_for

    from aperto.gateway import core as gateway_core
    from aperto.gateway import create_app as gateway_app
    from aperto.gateway.backends.fake import Fake

    hub, people = hub
    monkeypatch.setattr(gateway_core, "USAGE_REPORT_S", 0.2)
    with serve_url(create_app(hub.settings, hub)) as hub_url:
        settings = settings_for(tmp_path / "gw", hub_url=hub_url, token=people.gw, staleness_limit_s=30)
        with serve(gateway_app(settings, backends={REPO: Fake({"delay": 0.0}, settings)})) as gw:
            until(lambda: httpx.get(gw.url + "/readyz").status_code == 200, "the snapshot")
            for _ in range(2):
                r = httpx.post(gw.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {people.bob}"},
                               json={"model": REPO, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3})
                assert r.status_code == 200
            metrics = httpx.get(gw.url + "/metrics").text
            assert f'aperto_gateway_tokens_out_total{{model="{REPO}",user="bob"}}' in metrics

            def ledger() -> list[dict]:
                return httpx.get(hub_url + "/api/usage", params={"repo": REPO},
                                 headers={"Authorization": f"Bearer {people.alice}"}).json()["usage"]

            until(lambda: bool(ledger()) and ledger()[0]["requests"] == 2, "the report reaches the hub")
        row = ledger()[0]
        assert row["user"] == "bob" and row["repo"] == REPO and row["completion_tokens"] > 0
        refused = httpx.get(hub_url + "/api/usage", params={"repo": REPO}, headers={"Authorization": f"Bearer {people.bob}"})
        assert refused.status_code == 403  # only the licensor (or an administrator) reads it
        bad = httpx.post(hub_url + "/api/usage", json={"id": "x"}, headers={"Authorization": f"Bearer {people.gw}"})
        assert bad.status_code == 400 and "usage report" in bad.json()["error"]
