"""Blobs on S3 (SeaweedFS started here on free ports): verified multipart uploads that resume on any
replica, downloads by redirect to presigned URLs that expire, and a clear 503 when S3 is gone."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import httpx
import pytest
from huggingface_hub import hf_hub_download
from livekit import serve_url

from aperto import services
from aperto.config import Settings
from aperto.errors import BadInput, Unavailable
from aperto.hub.app import create_app
from aperto.hub.service import Hub
from aperto.store.s3 import PART

if TYPE_CHECKING:
    from hubtools import People

MIB = 1024 * 1024


def hubtools():  # noqa: ANN201 - tests/hub is on sys.path once the session starts (conftest)
    import hubtools

    return hubtools


def s3_settings(data_dir: Path, s3: services.S3, bucket: str) -> Settings:
    return Settings(data_dir=data_dir, database_url=None, blob_url=f"s3://{bucket}", s3_endpoint=s3.endpoint,
                    s3_access_key=s3.access_key, s3_secret_key=s3.secret_key)


@pytest.fixture(scope="module")
def weed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.S3]:
    with services.seaweedfs(tmp_path_factory.mktemp("weed"), grace=2) as s3:
        yield s3


@pytest.fixture
def people(weed: services.S3, tmp_path: Path) -> Iterator[People]:
    settings = s3_settings(tmp_path / "data", weed, "t" + uuid.uuid4().hex[:12])
    hub = Hub(settings)
    hub.blobs.ensure_bucket()
    yield hubtools().make_people(hub)
    hub.close()


@pytest.fixture
def live(people: People) -> Iterator[str]:
    with serve_url(create_app(people.hub.settings, people.hub)) as url:
        yield url


def test_huggingface_hub_downloads_through_a_presigned_redirect(people: People, live: str, tmp_path: Path) -> None:
    weights = os.urandom(2 * PART + 123)  # three parts
    hubtools().publish(people.hub, people.alice, "acme/open", {"README.md": hubtools().APACHE_CARD.encode(), "model.bin": weights})
    path = hf_hub_download("acme/open", "model.bin", endpoint=live, token=people.bob, cache_dir=tmp_path / "c")
    assert Path(path).read_bytes() == weights
    assert not (people.hub.settings.data_dir / "blobs").exists() or not any((people.hub.settings.data_dir / "blobs").rglob("*"))
    auth = {"Authorization": f"Bearer {people.bob}"}
    r = httpx.get(f"{live}/acme/open/resolve/main/model.bin", headers=auth)
    assert r.status_code == 302 and r.headers["x-linked-size"] == str(len(weights))
    location = r.headers["location"]
    assert location.startswith(people.hub.settings.s3_endpoint) and "X-Amz-Expires=60" in location
    assert httpx.get(location).content == weights
    assert httpx.get(location.replace("X-Amz-Expires=60", "X-Amz-Expires=600")).status_code == 403  # signed


def test_a_presigned_url_stops_working_when_it_expires(people: People) -> None:
    sha = people.hub.blobs.put_bytes(b"weights")
    people.hub.blobs.ttl = 1
    url = people.hub.blobs.download_url(sha, "model.bin")
    assert httpx.get(url).content == b"weights"
    time.sleep(2.5)
    assert httpx.get(url).status_code == 403


def cut_upload(live: str, token: str, sha: str, data: bytes, cut: int) -> None:
    """A client that dies after ``cut`` bytes of the body."""
    url = urlparse(live)
    head = (f"POST /api/models/acme/cut/upload/{sha}?size={len(data)} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {len(data)}\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(head + data[:cut])


def received(live: str, token: str, sha: str) -> dict:
    return httpx.get(f"{live}/api/models/acme/cut/upload/{sha}", headers={"Authorization": f"Bearer {token}"}).json()


def test_an_upload_cut_off_resumes_on_another_replica_and_is_verified(people: People, live: str,
                                                                        weed: services.S3, tmp_path: Path) -> None:
    data = os.urandom(PART + 3 * MIB)
    sha = hashlib.sha256(data).hexdigest()
    cut = PART + MIB
    cut_upload(live, people.alice, sha, data, cut)
    status = {}
    for _ in range(300):  # the server notices the disconnect asynchronously
        status = received(live, people.alice, sha)
        if status["received"] == cut:
            break
        time.sleep(0.02)
    assert status == {"sha256": sha, "received": cut, "complete": False}  # one part + a saved tail
    assert not people.hub.blobs.has(sha)
    # another replica (its own data dir, the same database would be shared in a fleet) takes the rest
    other = Hub(s3_settings(tmp_path / "other", weed, people.hub.blobs.bucket))
    try:
        caller = people.hub.tokens.authenticate(people.alice)
        assert other.blobs.received(caller.user_id, sha) == cut
        with pytest.raises(Exception, match="offset"):
            other.blobs.writer(caller.user_id, sha, len(data), 5)
        out = other.blobs.writer(caller.user_id, sha, len(data), cut)
        out.write(data[cut:])
        assert out.close() == len(data)
        other.blobs.finish(caller.user_id, sha, len(data))  # read back and hashed: several requests
    finally:
        other.close()
    assert people.hub.blobs.has(sha) and received(live, people.alice, sha)["complete"] is True
    assert people.hub.blobs.local(sha).read_bytes() == data


def test_bytes_that_do_not_match_their_sha256_never_become_a_blob(people: People, live: str) -> None:
    data = os.urandom(PART + 10)
    claimed = hashlib.sha256(b"something else").hexdigest()
    r = httpx.post(f"{live}/api/models/acme/cut/upload/{claimed}", params={"size": len(data)}, content=data,
                   headers={"Authorization": f"Bearer {people.alice}"})
    assert r.status_code == 400 and "do not match" in r.text
    assert not people.hub.blobs.has(claimed) and received(live, people.alice, claimed)["received"] == 0


def test_s3_down_answers_503_naming_it_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    folder, port = tmp_path / "weed", services.restartable_port()  # S3 comes back on it
    with services.seaweedfs(folder, port, grace=2) as s3:
        settings = s3_settings(tmp_path / "data", s3, "down")
        hub = Hub(settings)
        try:
            hub.blobs.ensure_bucket()
            people = hubtools().make_people(hub)
            hubtools().publish(hub, people.alice, "acme/open", {"README.md": hubtools().APACHE_CARD.encode(), "model.bin": b"w" * 1000})
            with serve_url(create_app(settings, hub)) as live:
                services.stop_pid(s3.pid, grace=0)  # unreachable at once, as a crashed server is
                auth = {"Authorization": f"Bearer {people.bob}"}
                for method in ("GET", "HEAD"):
                    r = httpx.request(method, f"{live}/acme/open/resolve/main/model.bin", headers=auth)
                    assert r.status_code == 503, r.text
                    assert method == "HEAD" or s3.endpoint in r.json()["error"]
                data = os.urandom(PART + 5)
                sha = hashlib.sha256(data).hexdigest()
                r = httpx.post(f"{live}/api/models/acme/open/upload/{sha}", params={"size": len(data)}, content=data,
                               headers={"Authorization": f"Bearer {people.alice}"})
                assert r.status_code == 503 and s3.endpoint in r.text
        finally:
            hub.close()
    with services.seaweedfs(folder, port, (s3.access_key, s3.secret_key), grace=2):
        hub = Hub(settings)
        try:
            caller = hub.tokens.authenticate(people.alice)
            assert not hub.blobs.has(sha) and hub.blobs.received(caller.user_id, sha) == 0
            kept = hashlib.sha256(b"w" * 1000).hexdigest()
            for _ in range(120):  # the S3 port answers before the volume server is back
                try:
                    assert hub.blobs.local(kept).read_bytes() == b"w" * 1000
                    break
                except Unavailable:
                    time.sleep(0.25)
            else:
                pytest.fail("the blob stored before S3 went down is not readable after it came back")
        finally:
            hub.close()


def test_presigned_urls_are_signed_for_the_public_endpoint(weed: services.S3, tmp_path: Path) -> None:
    # clients reach S3 by another name than the hub does; the host is signed, so rewriting is no answer
    public = weed.endpoint.replace("127.0.0.1", "localhost")
    settings = s3_settings(tmp_path / "data", weed, "t" + uuid.uuid4().hex[:12]).model_copy(
        update={"s3_public_endpoint": public})
    hub = Hub(settings)
    try:
        hub.blobs.ensure_bucket()  # the hub itself still talks to s3_endpoint
        people = hubtools().make_people(hub)
        hubtools().publish(hub, people.alice, "acme/open", {"README.md": hubtools().APACHE_CARD.encode(),
                                                            "model.bin": b"public weights"})
        with serve_url(create_app(settings, hub)) as live:
            r = httpx.get(f"{live}/acme/open/resolve/main/model.bin", headers={"Authorization": f"Bearer {people.bob}"})
            assert r.status_code == 302 and r.headers["location"].startswith(public + "/")
            assert httpx.get(r.headers["location"]).content == b"public weights"
            internal = r.headers["location"].replace(public, weed.endpoint)
            assert httpx.get(internal).status_code == 403  # signed for the public host only
    finally:
        hub.close()


def test_a_public_endpoint_that_is_not_a_url_is_refused_by_name(weed: services.S3, tmp_path: Path) -> None:
    settings = s3_settings(tmp_path / "data", weed, "unused").model_copy(update={"s3_public_endpoint": "s3.example.org"})
    with pytest.raises(BadInput, match="APERTO_S3_PUBLIC_ENDPOINT must be an http"):
        Hub(settings)
