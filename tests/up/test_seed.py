"""The seeding library on a Hub object, and the small helpers of ``aperto up``."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from aperto.cli.up import check_port, url_host
from aperto.config import Settings
from aperto.errors import Conflict
from aperto.hub.seed import DEMO_REPO, SMOLLM2_REPO, catalogue_repo, issue_tokens, seed
from aperto.hub.service import Hub


def test_seed_twice_adds_nothing_and_stores_the_gguf_once(tmp_path: Path, smollm2_path: Path) -> None:
    hub = Hub(Settings(data_dir=tmp_path))
    try:
        first = seed(hub, smollm2_path)
        assert SMOLLM2_REPO in first.created and DEMO_REPO in first.created
        assert "meta-llama/Llama-2-7b-hf" in first.created
        rows = len(list(hub.audit.iter_audit()))
        repos = hub.repos.list_repos()
        second = seed(hub, smollm2_path)
        assert second.created == [] and len(second.existing) == len(first.created)
        assert len(list(hub.audit.iter_audit())) == rows and hub.repos.list_repos() == repos
        big = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file() and p.stat().st_size > 1_000_000]
        assert len(big) == 1  # both SmolLM2 repos share one content-addressed blob
        demo = hub.repos.repo(DEMO_REPO)
        assert demo["license"] == "aperto-demo-community-license" and demo["licensor"] == "demo-licensor"
        smol = hub.repos.repo(SMOLLM2_REPO)
        assert smol["gating"] == "auto" and smol["override"]["automatic"] == "open"
        assert hub.audit.verify_audit()["ok"]
    finally:
        hub.close()


def test_issue_tokens_revokes_the_previous_runs(tmp_path: Path, smollm2_path: Path) -> None:
    hub = Hub(Settings(data_dir=tmp_path))
    try:
        seed(hub, smollm2_path, catalogue=False)
        old = issue_tokens(hub)
        new = issue_tokens(hub)
        assert hub.tokens.authenticate(new["admin"]).admin
        assert hub.tokens.authenticate(new["gateway"]).scopes == frozenset({"gateway"})
        for token in old.values():
            with pytest.raises(Exception, match="Invalid credentials"):
                hub.tokens.authenticate(token)
    finally:
        hub.close()


def test_catalogue_ids_without_an_org_use_their_alias() -> None:
    from aperto import catalog

    assert catalogue_repo(catalog.get("llama-2-34b")) == "meta-llama/Llama-2-34b-hf"
    assert all(catalogue_repo(f).count("/") == 1 for f in catalog.all())


def test_url_host_and_busy_port() -> None:
    assert url_host("0.0.0.0") == "127.0.0.1" and url_host("::1") == "[::1]" and url_host("127.0.0.1") == "127.0.0.1"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(Conflict, match="cannot listen"):
            check_port("127.0.0.1", busy.getsockname()[1])
