"""Stored bytes that no longer match their sha256 never reach a client as a complete file:
downloads hash while streaming and break off, ranges and X-Accel-Redirect are served only
from blobs verified since their last change, and the scrub quarantines bad blobs."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hubtools import APACHE_CARD, People, auth, publish

from aperto.cli.main import cli
from aperto.config import Settings
from aperto.hub.app import create_app
from aperto.hub.service import Hub

WEIGHTS = os.urandom(3 * 1024 * 1024 + 5)  # several 1 MiB chunks: the first ones leave before the verdict
SHA = hashlib.sha256(WEIGHTS).hexdigest()
URL = "/acme/open/resolve/main/model.bin"


@pytest.fixture
def repo(people: People) -> People:
    publish(people.hub, people.alice, "acme/open", {"README.md": APACHE_CARD.encode(), "model.bin": WEIGHTS})
    return people


def corrupt(hub: Hub, sha: str = SHA, keep_mtime: bool = True) -> None:
    """Zero 64 bytes in the middle of the stored blob. With ``keep_mtime`` the mtime is put
    back, as with bit rot: only hashing can tell."""
    path = hub.blobs.path(sha)
    st = path.stat()
    with open(path, "r+b") as f:
        f.seek(st.st_size // 2)
        f.write(b"\0" * 64)
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def quarantined(hub: Hub, sha: str = SHA) -> bool:
    return not hub.blobs.has(sha) and (hub.blobs.quarantined(sha) or {}).get("sha256") == sha


def test_a_good_download_is_served_whole_and_marks_the_blob_verified(repo: People, client: TestClient) -> None:
    marker = repo.hub.blobs._marker(SHA)
    marker.unlink()
    r = client.get(URL, headers=auth(repo.bob))
    assert r.status_code == 200 and r.content == WEIGHTS and r.headers["etag"] == f'"{SHA}"'
    assert repo.hub.blobs.known_good(SHA)


@pytest.mark.parametrize("where", ["cache_dir", "local_dir"])
def test_hf_hub_download_of_a_corrupted_blob_raises_and_keeps_no_file(repo: People, live: str, tmp_path: Path,
                                                                     where: str) -> None:
    hf = pytest.importorskip("huggingface_hub")
    from huggingface_hub.errors import HfHubHTTPError

    corrupt(repo.hub)
    target = tmp_path / where
    with pytest.raises(HfHubHTTPError) as raised:
        hf.hf_hub_download("acme/open", "model.bin", endpoint=live, token=repo.bob, **{where: target})
    assert raised.value.response.status_code == 503  # the resumed range found the blob quarantined
    # no model.bin (snapshot link or local file) and no blob: at most the client's own unfinished partial
    assert list(target.rglob("model.bin")) == []
    assert [p for p in target.rglob("*") if p.is_file() and p.stat().st_size > 1024
            and not p.name.endswith(".incomplete")] == []
    assert quarantined(repo.hub)
    # afterwards the hub refuses the file outright, with a clear reason
    head = httpx.head(f"{live}{URL}", headers=auth(repo.bob))
    assert head.status_code == 503 and "quarantined" in head.headers["x-error-message"]
    rows = [r for r in repo.hub.audit.iter_audit() if r["action"] == "blob.quarantine"]
    assert len(rows) == 1 and rows[0]["subject"] == f"blob:{SHA}"


def test_a_corrupted_download_stops_short_of_its_content_length(repo: People, live: str) -> None:
    corrupt(repo.hub)
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), \
            httpx.stream("GET", f"{live}{URL}", headers=auth(repo.bob)) as r:
        assert r.status_code == 200 and r.headers["content-length"] == str(len(WEIGHTS))
        for chunk in r.iter_raw():
            received += chunk
    assert 0 < len(received) < len(WEIGHTS)


def test_a_range_of_an_unverified_blob_is_verified_first(repo: People, client: TestClient) -> None:
    path = repo.hub.blobs.path(SHA)
    os.utime(path)  # same bytes, new stat: no longer known good
    assert not repo.hub.blobs.known_good(SHA)
    r = client.get(URL, headers={**auth(repo.bob), "Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == WEIGHTS[10:20]
    assert repo.hub.blobs.known_good(SHA)

    corrupt(repo.hub, keep_mtime=False)
    r = client.get(URL, headers={**auth(repo.bob), "Range": "bytes=10-19"})
    assert r.status_code == 503 and r.json()["code"] == "blob_damaged"
    assert quarantined(repo.hub)


def test_accel_redirect_hands_nginx_only_verified_blobs(repo: People, settings: Settings) -> None:
    settings.accel_redirect = "/internal-blobs/"
    with TestClient(create_app(settings, repo.hub)) as c:
        r = c.get(URL, headers=auth(repo.bob))
        assert r.status_code == 200 and r.headers["x-accel-redirect"] == f"/internal-blobs/{SHA[:2]}/{SHA}"
        corrupt(repo.hub, keep_mtime=False)  # the stat changed: the marker no longer vouches for it
        r = c.get(URL, headers=auth(repo.bob))
        assert r.status_code == 503 and "x-accel-redirect" not in r.headers
        assert quarantined(repo.hub)


def test_blobs_verify_quarantines_bad_blobs_and_names_missing_ones(repo: People, settings: Settings,
                                                                   client: TestClient) -> None:
    args = ["blobs", "verify", "--data-dir", str(settings.data_dir)]
    if settings.database_url:
        args += ["--database-url", settings.database_url]
    good = CliRunner().invoke(cli, args)
    assert good.exit_code == 0, good.output
    assert f"ok      {SHA}" in good.output and "checked 2 blobs" in good.output and "0 bad" in good.output

    corrupt(repo.hub)  # bit rot: the marker still matches, only the scrub's hashing finds it
    bad = CliRunner().invoke(cli, args)
    assert bad.exit_code == 1
    assert f"BAD     {SHA}" in bad.output and "1 bad" in bad.output and f"MISSING {SHA}" in bad.output
    assert quarantined(repo.hub)
    assert len(list(repo.hub.blobs.quarantine_dir.glob(f"{SHA}.*"))) == 2  # the bytes and the note
    r = client.get(URL, headers=auth(repo.bob))
    assert r.status_code == 503 and "quarantined" in r.json()["message"]


def test_a_missing_blob_is_refused_cleanly(repo: People, client: TestClient) -> None:
    repo.hub.blobs.path(SHA).unlink()
    r = client.get(URL, headers=auth(repo.bob))
    assert r.status_code == 503 and "missing" in r.json()["message"]


def test_the_background_scrub_quarantines_a_rotten_blob(repo: People) -> None:
    corrupt(repo.hub)
    repo.hub.integrity.start_scrub(0.05)
    try:
        deadline = time.monotonic() + 30
        while not quarantined(repo.hub) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        repo.hub.integrity.stop()
    assert quarantined(repo.hub)
    assert repo.hub.blobs.quarantined(SHA)["by"] == "scrub"


def test_republishing_the_bytes_brings_a_quarantined_file_back(repo: People, client: TestClient) -> None:
    corrupt(repo.hub)
    assert client.get(URL, headers={**auth(repo.bob), "Range": "bytes=0-0"}).status_code in (206, 503)
    repo.hub.integrity.scrub()
    assert quarantined(repo.hub)
    publish(repo.hub, repo.alice, "acme/open", {"model.bin": WEIGHTS})
    r = client.get(URL, headers=auth(repo.bob))
    assert r.status_code == 200 and r.content == WEIGHTS


def test_a_file_name_outside_ascii_is_served(people: People, client: TestClient) -> None:
    publish(people.hub, people.alice, "acme/names", {"README.md": APACHE_CARD.encode(), "poids-é.bin": b"abc"})
    r = client.get("/acme/names/resolve/main/poids-é.bin", headers=auth(people.bob))
    assert r.status_code == 200 and r.content == b"abc"
    assert r.headers["content-disposition"] == "attachment; filename*=utf-8''poids-%C3%A9.bin"
