"""Two gateway replicas following the real hub (aperto.hub) over HTTP: a licensor's kill
through `aperto kill` reaches both and ends their streams; resume, revocation and a
takedown arrive the same way. The gateway never imports the hub; only this test does."""

from __future__ import annotations

import contextlib
import hashlib
import re

import httpx
import pytest
from click.testing import CliRunner
from gwkit import StreamReader, error_code, serve, settings_for, wait_until

from aperto.cli.gateway import kill_cmd, resume_cmd
from aperto.config import Settings
from aperto.gateway import create_app
from aperto.gateway.backends.fake import Fake
from aperto.hub import app as hub_app  # noqa: E402 - tests may import the hub; the gateway never does
from aperto.hub import service as hub_service  # noqa: E402

REPO = "alice/tiny"
CARD = b"---\nlicense: apache-2.0\n---\n# Tiny\nA tiny test model.\n"


@pytest.fixture
def real_hub(tmp_path):
    settings = Settings(data_dir=tmp_path / "hub", database_url=None)
    hub = hub_service.Hub(settings)
    admin = hub.tokens.bootstrap_admin()
    root = hub.tokens.authenticate(admin)
    hub.tokens.create_user(root, "alice", org="acme")
    hub.tokens.create_user(root, "bob")
    hub.tokens.create_user(root, "gw")
    people = {"admin": admin, "alice": hub.tokens.create_token(root, "alice", ["read", "publish"]),
              "bob": hub.tokens.create_token(root, "bob", ["read"]), "gw": hub.tokens.create_token(root, "gw", ["gateway"])}
    alice = hub.tokens.authenticate(people["alice"])
    sha = hashlib.sha256(CARD).hexdigest()
    hub.repos.upload(alice, REPO, sha, len(CARD), 0, [CARD])
    hub.repos.commit(alice, REPO, [{"path": "README.md", "sha256": sha, "size": len(CARD)}], "first", gating="manual")
    hub.access.grant_access(alice, REPO, "bob")
    with serve(hub_app.create_app(settings, hub)) as server:
        server.hub, server.people = hub, people
        yield server
    hub.close()


def replica(tmp_path, hub_url: str, name: str, token: str):
    settings = settings_for(tmp_path / name, hub_url=hub_url, token=token, staleness_limit_s=30)
    return create_app(settings, backends={REPO: Fake({"delay": 0.01}, settings)})


def chat(url: str, token: str) -> httpx.Response:
    return httpx.post(url + "/v1/chat/completions", headers={"Authorization": f"Bearer {token}"},
                      json={"model": REPO, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3})


def test_two_replicas_follow_the_real_hub(tmp_path, real_hub):
    people = real_hub.people
    bob = people["bob"]
    with contextlib.ExitStack() as stack:
        gws = [stack.enter_context(serve(replica(tmp_path, real_hub.url, f"r{i}", people["gw"]))) for i in range(2)]
        for gw in gws:
            wait_until(lambda gw=gw: chat(gw.url, bob).status_code == 200, what="the snapshot from the hub")
            assert chat(gw.url, "aperto_unknown").status_code == 401
        readers = [StreamReader(gw.url, bob, REPO, max_tokens=100_000) for gw in gws]
        for r in readers:
            r.start()
        for r in readers:
            r.wait_for_chunks(2)

        # the licensor pulls the switch for her model, through the CLI and the hub
        cli = ["--model", REPO, "--hub-url", real_hub.url, "--token", people["alice"]]
        result = CliRunner().invoke(kill_cmd, [*cli, "--reason", "licence breach under review"])
        assert result.exit_code == 0, result.output
        for r in readers:
            r.join(10)
            assert error_code(r.error) == "model_halted" and str(r.error) == "licence breach under review"
        for gw in gws:
            assert chat(gw.url, bob).json()["error"]["code"] == "model_halted"
            assert httpx.get(gw.url + "/readyz").status_code == 503

        # bob may not pull it: the hub refuses, and the gateways stay halted
        denied = CliRunner().invoke(kill_cmd, ["--hub-url", real_hub.url, "--token", bob, "--reason", "x"])
        assert denied.exit_code != 0

        assert CliRunner().invoke(resume_cmd, cli).exit_code == 0
        for gw in gws:
            wait_until(lambda gw=gw: chat(gw.url, bob).status_code == 200, what="the resume")

        real_hub.hub.access.revoke_access(real_hub.hub.tokens.authenticate(people["alice"]), REPO, "bob")
        for gw in gws:
            wait_until(lambda gw=gw: chat(gw.url, bob).status_code == 403, what="the revocation")
        assert chat(gws[0].url, people["alice"]).status_code == 200  # the licensor still may

        real_hub.hub.tokens.revoke_token(real_hub.hub.tokens.authenticate(people["admin"]), people["alice"])
        for gw in gws:
            wait_until(lambda gw=gw: chat(gw.url, people["alice"]).status_code == 401, what="token revocation")


def polls(hub_url: str) -> float:
    """Long-polls the hub has answered, from its /metrics."""
    found = re.search(r'^aperto_hub_http_requests_total\{method="GET",route="/api/events",status="200"\} (\S+)$',
                      httpx.get(hub_url + "/metrics").text, re.M)
    return float(found.group(1)) if found else 0.0


def test_the_gateway_holds_one_stream_instead_of_polling(tmp_path, real_hub):
    people = real_hub.people
    with serve(replica(tmp_path, real_hub.url, "r", people["gw"])) as gw:
        wait_until(lambda: chat(gw.url, people["bob"]).status_code == 200, what="the snapshot from the hub")
        wait_until(lambda: real_hub.hub.core.follower.waiting == 1, what="the gateway's stream to wait")
        before = polls(real_hub.url)
        cli = ["--model", REPO, "--hub-url", real_hub.url, "--token", people["alice"]]
        assert CliRunner().invoke(kill_cmd, [*cli, "--reason", "by stream"]).exit_code == 0
        wait_until(lambda: chat(gw.url, people["bob"]).status_code == 503, what="the kill")
        assert CliRunner().invoke(resume_cmd, cli).exit_code == 0
        wait_until(lambda: chat(gw.url, people["bob"]).status_code == 200, what="the resume")
        assert polls(real_hub.url) == before  # both events came down the open stream
        assert real_hub.hub.core.follower.waiting == 1
