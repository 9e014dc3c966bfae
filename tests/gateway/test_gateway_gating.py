"""A gating change on the hub reaches running gateways (it used to wait for their restart):
the real hub, a gateway following its feed, and the real `openai` client."""

from __future__ import annotations

import hashlib

import httpx
import openai
import pytest
from gwkit import serve, settings_for, wait_until

from aperto.config import Settings
from aperto.gateway import create_app
from aperto.gateway.backends.fake import Fake
from aperto.hub import app as hub_app  # tests may import the hub; the gateway never does
from aperto.hub import service as hub_service

REPO = "alice/open-tiny"
CARD = b"---\nlicense: apache-2.0\n---\n# Tiny\n"


@pytest.fixture
def hub_and_people(tmp_path):
    hub = hub_service.Hub(Settings(data_dir=tmp_path / "hub", database_url=None))
    root = hub.tokens.authenticate(hub.tokens.bootstrap_admin())
    for name in ("alice", "bob", "gw"):
        hub.tokens.create_user(root, name)
    people = {"alice": hub.tokens.create_token(root, "alice", ["read", "publish"]),
              "bob": hub.tokens.create_token(root, "bob", ["read"]),
              "gw": hub.tokens.create_token(root, "gw", ["gateway"])}
    alice = hub.tokens.authenticate(people["alice"])
    sha = hashlib.sha256(CARD).hexdigest()
    hub.repos.upload(alice, REPO, sha, len(CARD), 0, [CARD])
    hub.repos.commit(alice, REPO, [{"path": "README.md", "sha256": sha, "size": len(CARD)}], "first", gating="open")
    yield hub, people
    hub.close()


def ask(client: openai.OpenAI) -> str:
    r = client.chat.completions.create(model=REPO, messages=[{"role": "user", "content": "hi"}], max_tokens=2)
    return r.choices[0].message.content or ""


def test_switching_an_open_repo_to_manual_stops_every_running_gateway_at_once(tmp_path, hub_and_people) -> None:
    hub, people = hub_and_people
    with serve(hub_app.create_app(hub.settings, hub)) as hub_server:
        settings = settings_for(tmp_path / "gw", hub_url=hub_server.url, token=people["gw"], staleness_limit_s=30)
        with serve(create_app(settings, backends={REPO: Fake({"delay": 0.0}, settings)})) as gw:
            bob = openai.OpenAI(base_url=gw.url + "/v1", api_key=people["bob"], max_retries=0)
            # the gateway answers 503 until its first snapshot: asking earlier is a race, not a refusal
            wait_until(lambda: httpx.get(gw.url + "/readyz").status_code == 200, what="the first snapshot")
            wait_until(lambda: bool(ask(bob)), what="the open repo is served to any valid token")
            hub.repos.set_gating(hub.tokens.authenticate(people["alice"]), REPO, "manual")

            def refused() -> bool:
                try:
                    ask(bob)
                except openai.PermissionDeniedError:
                    return True
                return False

            wait_until(refused, what="the gating change reaching the gateway")
            alice = openai.OpenAI(base_url=gw.url + "/v1", api_key=people["alice"], max_retries=0)
            assert ask(alice)  # the licensor still may
            hub.repos.set_gating(hub.tokens.authenticate(people["alice"]), REPO, "open")
            wait_until(lambda: not refused(), what="re-opening reaching the gateway")
