"""Observability: the gateway's time to first token and between tokens (histograms on /metrics), and
the hub's request ids (an x-request-id on every answer, the cached fast path included) in JSON logs."""

from __future__ import annotations

import json
import logging

import httpx
from fleetkit import until
from livekit import serve_url
from prometheus_client.parser import text_string_to_metric_families

from aperto.config import Settings
from aperto.hub.app import create_app
from aperto.hub.service import Hub
from aperto.request_log import JsonLines

REPO = "alice/open-tiny"
CARD = b"---\nlicense: apache-2.0\n---\n# Tiny\n"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def make_hub(tmp_path):  # noqa: ANN001, ANN201
    from hubtools import make_people, publish

    hub = Hub(Settings(data_dir=tmp_path / "hub", database_url=None))
    people = make_people(hub)
    publish(hub, people.alice, REPO, {"README.md": CARD}, gating="open")
    return hub, people


def test_time_to_first_token_and_between_tokens(tmp_path) -> None:
    from gwkit import serve, settings_for

    from aperto.gateway import create_app as gateway_app
    from aperto.gateway.backends.fake import Fake

    hub, people = make_hub(tmp_path)
    try:
        with serve_url(create_app(hub.settings, hub)) as hub_url:
            settings = settings_for(tmp_path / "gw", hub_url=hub_url, token=people.gw, staleness_limit_s=30)
            with serve(gateway_app(settings, backends={REPO: Fake({"delay": 0.0}, settings)})) as gw:
                until(lambda: httpx.get(gw.url + "/readyz").status_code == 200, "the snapshot")
                r = httpx.post(gw.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {people.bob}"},
                               json={"model": REPO, "messages": [{"role": "user", "content": "hi"}],
                                     "max_tokens": 5, "stream": True})
                assert r.status_code == 200 and "[DONE]" in r.text
                chunks = [line for line in r.text.splitlines() if line.startswith("data: {")
                          and '"choices":[]' not in line]
                got = samples(httpx.get(gw.url + "/metrics").text)
        assert got[("aperto_gateway_time_to_first_token_seconds_count", ())] == 1  # one stream
        assert got[("aperto_gateway_time_between_tokens_seconds_count", ())] == len(chunks) - 1 >= 4
    finally:
        hub.close()


def test_the_hub_answers_with_a_request_id_and_logs_it(tmp_path, caplog) -> None:
    hub, people = make_hub(tmp_path)
    try:
        with serve_url(create_app(hub.settings, hub)) as url, caplog.at_level(logging.DEBUG, "aperto.hub.requests"):
            bearer = {"Authorization": f"Bearer {people.bob}"}
            answers = [httpx.get(f"{url}/api/models/{REPO}", headers=bearer) for _ in range(2)]  # miss, then hit
            answers.append(httpx.get(f"{url}/api/models/nobody/nothing"))
            answers.append(httpx.get(f"{url}/api/models/{REPO}", headers={**bearer, "x-request-id": "trace-42"}))
            answers.append(httpx.get(f"{url}/api/models/{REPO}", headers={**bearer, "x-request-id": "bad id; drop"}))
        ids = [a.headers.get("x-request-id") for a in answers]
        assert [a.status_code for a in answers] == [200, 200, 404, 200, 200]
        assert all(i and i.startswith("req_") for i in ids[:3]) and len(set(ids)) == 5
        assert ids[3] == "trace-42" and ids[4].startswith("req_")  # a client's sane id is kept, others replaced
        lines = [json.loads(JsonLines().format(r)) for r in caplog.records if r.name == "aperto.hub.requests"]
        assert [(line["request_id"], line["status"]) for line in lines] == \
            [(i, a.status_code) for i, a in zip(ids, answers, strict=True)]
        assert lines[2]["path"] == "/api/models/nobody/nothing"
        # a refusal at INFO; a successful read at DEBUG (a line per read halves a hot path's throughput)
        assert [line["level"] for line in lines] == ["debug", "debug", "info", "debug", "debug"]
        assert all(isinstance(line["seconds"], float) and line["method"] == "GET" for line in lines)
    finally:
        hub.close()
