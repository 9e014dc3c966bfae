"""The unmodified huggingface_hub client against a live hub on loopback."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest
from hubtools import APACHE_CARD, LLAMA_CARD, People, publish

hf = pytest.importorskip("huggingface_hub")
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url, snapshot_download  # noqa: E402
from huggingface_hub.errors import (  # noqa: E402
    DisabledRepoError,
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

WEIGHTS = os.urandom(3 * 1024 * 1024 + 17)


@pytest.fixture
def repos(people: People) -> People:
    publish(people.hub, people.alice, "acme/open", {"README.md": APACHE_CARD.encode(), "model.bin": WEIGHTS,
                                                    "sub/config.json": b'{"a": 1}'})
    publish(people.hub, people.alice, "acme/gated", {"README.md": LLAMA_CARD.encode(), "model.bin": WEIGHTS},
            gating="manual")
    return people


def test_model_info_and_file_list(repos: People, live: str) -> None:
    api = HfApi(endpoint=live, token=repos.bob)
    info = api.model_info("acme/open")
    assert len(info.sha) == 40
    assert info.gated is False and info.disabled is False
    assert info.card_data["license"] == "apache-2.0"
    assert sorted(s.rfilename for s in info.siblings) == ["README.md", "model.bin", "sub/config.json"]
    assert sorted(api.list_repo_files("acme/open")) == ["README.md", "model.bin", "sub/config.json"]
    assert api.model_info("acme/gated").gated == "manual"


def test_hf_hub_download_and_snapshot(repos: People, live: str, tmp_path: Path) -> None:
    path = hf_hub_download("acme/open", "model.bin", endpoint=live, token=repos.bob, cache_dir=tmp_path / "c")
    assert Path(path).read_bytes() == WEIGHTS
    snap = snapshot_download("acme/open", endpoint=live, token=repos.bob, cache_dir=tmp_path / "s")
    assert (Path(snap) / "sub" / "config.json").read_bytes() == b'{"a": 1}'
    assert (Path(snap) / "model.bin").read_bytes() == WEIGHTS


def test_gated_repo_error_without_grant_then_download_after_grant(repos: People, live: str, tmp_path: Path) -> None:
    with pytest.raises(GatedRepoError):
        hf_hub_download("acme/gated", "model.bin", endpoint=live, token=repos.bob, cache_dir=tmp_path / "a")
    with pytest.raises(GatedRepoError):  # anonymous too
        hf_hub_download("acme/gated", "model.bin", endpoint=live, token=False, cache_dir=tmp_path / "b")
    HfApi(endpoint=live, token=repos.alice).grant_access("acme/gated", "bob")
    path = hf_hub_download("acme/gated", "model.bin", endpoint=live, token=repos.bob, cache_dir=tmp_path / "c")
    assert Path(path).read_bytes() == WEIGHTS


def test_disabled_repo_error_after_takedown(repos: People, live: str, tmp_path: Path) -> None:
    hub = repos.hub
    hub.repos.withdraw(hub.tokens.authenticate(repos.alice), "acme/open", "licence dispute")
    # the metadata call raises DisabledRepoError; hf_hub_download wraps it (nothing cached to fall back on)
    url = hf_hub_url("acme/open", "model.bin", endpoint=live)
    with pytest.raises(DisabledRepoError):
        get_hf_file_metadata(url, token=repos.bob)
    with pytest.raises(LocalEntryNotFoundError) as caught:
        hf_hub_download("acme/open", "model.bin", endpoint=live, token=repos.bob, cache_dir=tmp_path / "a")
    assert isinstance(caught.value.__cause__, DisabledRepoError)
    assert HfApi(endpoint=live, token=repos.bob).model_info("acme/open").disabled is True
    hub.repos.restore(hub.tokens.authenticate(repos.alice), "acme/open")
    path = hf_hub_download("acme/open", "model.bin", endpoint=live, token=repos.bob, cache_dir=tmp_path / "b")
    assert Path(path).read_bytes() == WEIGHTS


def test_missing_things_raise_the_right_errors(repos: People, live: str, tmp_path: Path) -> None:
    kw = {"endpoint": live, "token": repos.bob, "cache_dir": tmp_path}
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("acme/nope", "model.bin", **kw)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("acme/open", "nope.bin", **kw)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("acme/open", "model.bin", revision="f" * 40, **kw)


def test_resumed_download_uses_range(repos: People, live: str, tmp_path: Path) -> None:
    """huggingface_hub resumes a broken stream with ``Range: bytes=<have>-`` (file_download.http_get).
    The first half on disk is marked: if the hub ignored Range and answered 200, the client would
    rewind and overwrite the marks; a real 206 resume leaves them in place."""
    from huggingface_hub.file_download import http_get

    half = len(WEIGHTS) // 2
    target = tmp_path / "model.bin.incomplete"
    with open(target, "wb") as f:
        f.write(b"\0" * half)
        http_get(f"{live}/acme/open/resolve/main/model.bin", f, resume_size=half,
                 headers={"authorization": f"Bearer {repos.bob}"}, expected_size=len(WEIGHTS))
    assert target.read_bytes() == b"\0" * half + WEIGHTS[half:]

    r = httpx.get(f"{live}/acme/open/resolve/main/model.bin",
                  headers={"Range": f"bytes={half}-", "Authorization": f"Bearer {repos.bob}"})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes {half}-{len(WEIGHTS) - 1}/{len(WEIGHTS)}"
    assert r.content == WEIGHTS[half:]


def test_gated_range_request_leaks_nothing(repos: People, live: str) -> None:
    r = httpx.get(f"{live}/acme/gated/resolve/main/model.bin",
                  headers={"Range": "bytes=0-9", "Authorization": f"Bearer {repos.bob}"})
    assert r.status_code == 403
    assert r.headers["x-error-code"] == "GatedRepo"
    assert WEIGHTS[:10] not in r.content


def test_licensor_queue_through_hfapi(repos: People, live: str) -> None:
    hub = repos.hub
    bob = hub.tokens.authenticate(repos.bob)
    hub.access.request_access(bob, "acme/gated", {"org": "bobco", "mau": 10, "use": "research", "country": "FR",
                                           "accepts_aup": True})
    api = HfApi(endpoint=live, token=repos.alice)
    pending = list(api.list_pending_access_requests("acme/gated"))
    assert [r.username for r in pending] == ["bob"]
    assert pending[0].fields["org"] == "bobco"
    api.accept_access_request("acme/gated", "bob")
    assert [r.username for r in api.list_accepted_access_requests("acme/gated")] == ["bob"]
    assert hub.repos.can_download(bob, "acme/gated")
    api.reject_access_request("acme/gated", "bob", rejection_reason="no longer eligible")
    rejected = list(api.list_rejected_access_requests("acme/gated"))
    assert [r.username for r in rejected] == ["bob"]
    assert not hub.repos.can_download(bob, "acme/gated")
    # bob's token cannot read alice's queue
    with pytest.raises(HfHubHTTPError) as caught:
        list(HfApi(endpoint=live, token=repos.bob).list_pending_access_requests("acme/gated"))
    assert caught.value.response.status_code == 403


def test_whoami(repos: People, live: str) -> None:
    assert HfApi(endpoint=live, token=repos.alice).whoami()["name"] == "alice"


def test_update_repo_settings_changes_gating(repos: People, live: str) -> None:
    HfApi(endpoint=live, token=repos.alice).update_repo_settings("acme/gated", gated="auto")
    assert HfApi(endpoint=live, token=repos.bob).model_info("acme/gated").gated == "auto"
    with pytest.raises(HfHubHTTPError):
        HfApi(endpoint=live, token=repos.bob).update_repo_settings("acme/gated", gated=False)


def test_an_upload_cut_off_mid_stream_leaves_no_blob_and_resumes(repos: People, live: str) -> None:
    """The client dies half-way through the body: nothing becomes visible, the bytes that
    arrived are kept (fsynced), and a PATCH from the reported offset completes the file."""
    import hashlib
    import socket
    from urllib.parse import urlparse

    data = os.urandom(2_000_000)
    sha = hashlib.sha256(data).hexdigest()
    url = urlparse(live)
    head = (f"POST /api/models/acme/cut/upload/{sha}?size={len(data)} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {repos.alice}\r\nContent-Length: {len(data)}\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(head + data[:700_000])
    status = {}
    for _ in range(200):  # the server notices the disconnect asynchronously
        status = httpx.get(f"{live}/api/models/acme/cut/upload/{sha}", headers={"Authorization": f"Bearer {repos.alice}"}).json()
        if status["received"] == 700_000:
            break
        time.sleep(0.02)
    assert status == {"sha256": sha, "received": 700_000, "complete": False}
    assert not repos.hub.blobs.has(sha)
    r = httpx.patch(f"{live}/api/models/acme/cut/upload/{sha}", params={"size": len(data), "offset": 700_000},
                    content=data[700_000:], headers={"Authorization": f"Bearer {repos.alice}"})
    assert r.json()["complete"] is True and repos.hub.blobs.path(sha).read_bytes() == data
