"""Schemathesis fuzzes every operation of the hub's OpenAPI schema, as the admin
(the caller who reaches the deepest code): no input may produce a 5xx."""

from __future__ import annotations

import pytest
from hubtools import APACHE_CARD, make_people, publish

schemathesis = pytest.importorskip("schemathesis")
from fuzzkit import fuzz_every_operation  # noqa: E402

from aperto.config import Settings  # noqa: E402
from aperto.hub.app import create_app  # noqa: E402
from aperto.hub.service import Hub  # noqa: E402


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory):
    hub = Hub(Settings(data_dir=tmp_path_factory.mktemp("fuzz")))
    people = make_people(hub)
    publish(hub, people.alice, "acme/open", {"README.md": APACHE_CARD.encode(), "w.bin": b"x" * 100})
    app = create_app(hub.settings, hub)
    yield app, people
    hub.close()


@pytest.fixture(scope="module")
def api_schema(fuzz_env):
    app, _ = fuzz_env
    # the SSE stream never ends by design and the long-poll waits: both are tested in test_api
    return schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path_regex=r"^/api/events")


def test_no_server_errors(api_schema, fuzz_env) -> None:
    _, people = fuzz_env
    headers = {"Authorization": f"Bearer {people.admin}"}
    failures: list[str] = []

    def check(case) -> None:  # noqa: ANN001
        response = case.call(headers=headers)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

    operations = fuzz_every_operation(api_schema, check, examples=25, derandomize=True)
    assert operations >= 25
    assert failures == []
