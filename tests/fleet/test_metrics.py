"""/metrics on the hub and the gateway, in Prometheus' text format: requests by route template,
the hub's feed state, the gateway's feed lag, kill propagation, staleness and what it holds."""

from __future__ import annotations

import httpx
from fleetkit import until
from livekit import serve_url
from prometheus_client.parser import text_string_to_metric_families

from aperto.config import Settings
from aperto.hub.app import create_app
from aperto.hub.service import Hub

FAKE = "alice/fake"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_hub_and_gateway_metrics(tmp_path) -> None:
    from gwkit import serve, settings_for
    from hubtools import make_people

    from aperto.gateway import create_app as gateway_app
    from aperto.gateway.backends.fake import Fake

    hub = Hub(Settings(data_dir=tmp_path / "hub", database_url=None))
    people = make_people(hub)
    try:
        with serve_url(create_app(hub.settings, hub)) as hub_url:
            settings = settings_for(tmp_path / "gw", hub_url=hub_url, token=people.gw, staleness_limit_s=30)
            app = gateway_app(settings, backends={FAKE: Fake({"delay": 0.0}, settings)})
            with serve(app) as gw:
                until(lambda: httpx.get(gw.url + "/readyz").status_code == 200, "the snapshot")
                hub.control.kill(people.caller(people.admin), None, "metrics")
                until(lambda: None in app.state.gateway.policy.kills, "the kill")
                got = samples(httpx.get(gw.url + "/metrics").text)
                assert got[("aperto_gateway_kill_propagation_seconds_count", ())] == 1
                assert got[("aperto_gateway_feed_lag_seconds_count", (("type", "kill"),))] == 1
                assert got[("aperto_gateway_stale", ())] == 0
                assert got[("aperto_gateway_token_cache_size", ())] == 4  # admin, alice, bob, gw
                assert got[("aperto_gateway_http_requests_total",
                            (("method", "GET"), ("route", "/readyz"), ("status", "200")))] >= 1
            httpx.get(hub_url + "/api/models/nobody/nothing")
            hub_metrics = samples(httpx.get(hub_url + "/metrics").text)
        assert hub_metrics[("aperto_hub_event_seq", ())] == hub.core.last_seq
        # labelled by the route's template, never the raw path
        assert any(k[0] == "aperto_hub_http_requests_total" and ("status", "404") in k[1]
                   and "nobody" not in str(k[1]) for k in hub_metrics)
        assert any(k[0] == "aperto_hub_http_requests_total" and ("route", "/api/events") in k[1]
                   for k in hub_metrics)
    finally:
        hub.close()
