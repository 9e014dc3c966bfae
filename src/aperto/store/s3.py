"""Blobs in an S3 bucket (``APERTO_BLOB_URL=s3://BUCKET``, ``APERTO_S3_ENDPOINT``): the same
interface as the local ``BlobStore``, picked by the hub at start.

Keys: ``blobs/<sha256>`` (served), ``proofs/<owner>-<sha256>`` (this user sent these bytes),
``uploads/<owner>-<sha256>`` (an upload being assembled) and ``uploads/<owner>-<sha256>.state``.

An upload is one S3 multipart upload. Bytes arrive through the hub's upload API in any number of
requests; every full ``PART`` is sent as a part at once, and what is left when a request ends (the
tail, under ``PART``) is kept in the state object together with the list of parts. The state is one
object replaced whole, so it is always consistent: the offset to resume from is the bytes in its
parts plus its tail, whichever replica answers. Once all bytes are in, the upload is completed under
``uploads/``, hashed (while receiving when it came in one request, else read back), and only when
its sha256 matches copied to ``blobs/``: nothing half-written or unverified is ever served.
Downloads are redirects to presigned GET URLs that expire after ``APERTO_BLOB_URL_TTL_S``, signed
for ``APERTO_S3_PUBLIC_ENDPOINT`` when clients reach S3 at another address than the hub.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from aperto.config import Settings, private_dir
from aperto.errors import BadInput, Conflict, NotFound, TooLarge, Unavailable
from aperto.store.blobs import CHUNK, DamagedBlob, check_sha256

PART = 8 * 1024 * 1024  # S3 wants parts of at least 5 MiB, the last one aside
MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchUpload")


def bucket_of(url: str) -> str:
    if not url.startswith("s3://") or not url[5:].strip("/") or "/" in url[5:].strip("/"):
        raise BadInput(f"APERTO_BLOB_URL must be s3://BUCKET, not {url!r}")
    return url[5:].strip("/")


class S3BlobStore:
    remote = True

    def __init__(self, settings: Settings) -> None:
        if not settings.s3_endpoint:
            raise BadInput("APERTO_BLOB_URL is an s3:// URL but APERTO_S3_ENDPOINT is not set")
        self.bucket = bucket_of(settings.blob_url or "")
        self.endpoint = settings.s3_endpoint
        self.max_size = settings.max_upload_bytes
        self.ttl = settings.blob_url_ttl_s
        self.cache = settings.data_dir / "blob-cache"
        self._hashed: dict[tuple[int, str], str] = {}  # digests taken while receiving, for finish()
        self.client = self._client(settings, self.endpoint)
        # the host is part of the signature, so a URL for clients elsewhere is signed for their address
        public = settings.s3_public_endpoint or self.endpoint
        if not public.startswith(("http://", "https://")):
            raise BadInput(f"APERTO_S3_PUBLIC_ENDPOINT must be an http(s):// URL, not {public!r}",
                           hint="the address clients fetch S3 at, e.g. https://s3.example.org")
        self.public_endpoint = public
        self.signer = self.client if public == self.endpoint else self._client(settings, public)

    @staticmethod
    def _client(settings: Settings, endpoint: str) -> Any:
        return boto3.client(
            "s3", endpoint_url=endpoint, region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key, aws_secret_access_key=settings.s3_secret_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, connect_timeout=3,
                          read_timeout=60, retries={"max_attempts": 2, "mode": "standard"},
                          request_checksum_calculation="when_required",
                          response_checksum_validation="when_required"))

    @contextmanager
    def _s3(self) -> Iterator[None]:
        """S3 unreachable or failing: 503 naming the endpoint (never a 500)."""
        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if status >= 500 or status in (401, 403):
                raise Unavailable(f"blob storage at {self.endpoint} answered {status} {code}",
                                  hint="check the S3 service and the hub's S3 credentials") from None
            raise
        except BotoCoreError as exc:
            raise Unavailable(f"blob storage at {self.endpoint} is unreachable: {exc}",
                              hint="start the S3 service or fix APERTO_S3_ENDPOINT") from None

    def _head(self, key: str) -> dict | None:
        try:
            with self._s3():
                return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in MISSING:
                return None
            raise

    def ensure_bucket(self, timeout: float = 60.0) -> None:
        """Create the bucket if it is not there; waits for a server that is still starting."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self._s3():
                    try:
                        self.client.head_bucket(Bucket=self.bucket)
                    except ClientError as exc:
                        if str(exc.response.get("Error", {}).get("Code")) not in MISSING:
                            raise
                        self.client.create_bucket(Bucket=self.bucket)
                return
            except Unavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    # ---- blobs -------------------------------------------------------------------------
    def size(self, sha256: str) -> int | None:
        head = self._head(f"blobs/{check_sha256(sha256)}")
        return None if head is None else int(head["ContentLength"])

    def path(self, sha256: str) -> Path:
        """Where ``local`` keeps its copy (nothing is fetched here)."""
        return self.cache / check_sha256(sha256)

    def has(self, sha256: str) -> bool:
        return self.size(sha256) is not None

    def check(self, sha256: str, size: int) -> None:
        """Before a download is redirected: the object is there, with the size the commit says."""
        found = self.size(sha256)
        if found != size:
            why = "are missing" if found is None else f"have size {found}, expected {size}"
            raise DamagedBlob(f"the stored bytes of blob {sha256[:12]}... {why}",
                              hint="the hub operator has the file published again", sha256=sha256)

    def download_url(self, sha256: str, filename: str) -> str:
        """A presigned GET, valid for ``ttl`` seconds: the bound on how long a user whose access
        was revoked can still fetch with a URL handed out before. Signed for the public endpoint."""
        quoted = filename.replace("\\", "_").replace('"', "_")
        with self._s3():
            return self.signer.generate_presigned_url(
                "get_object", ExpiresIn=self.ttl,
                Params={"Bucket": self.bucket, "Key": f"blobs/{check_sha256(sha256)}",
                        "ResponseContentDisposition": f'attachment; filename="{quoted}"'})

    def local(self, sha256: str) -> Path:
        """A verified local copy (for reading licence texts and model cards), cached by sha256."""
        path = self.path(sha256)
        if path.is_file():
            return path
        private_dir(self.cache)
        tmp = path.with_name(f".{sha256}.{os.getpid()}.tmp")
        digest = hashlib.sha256()
        try:
            with self._s3():
                body = self.client.get_object(Bucket=self.bucket, Key=f"blobs/{sha256}")["Body"]
                with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
                    for block in body.iter_chunks(CHUNK):
                        digest.update(block)
                        f.write(block)
                    f.flush()
                    os.fsync(f.fileno())
        except ClientError as exc:
            tmp.unlink(missing_ok=True)
            if str(exc.response.get("Error", {}).get("Code")) in MISSING:
                raise DamagedBlob(f"the stored bytes of blob {sha256[:12]}... are missing", sha256=sha256) from None
            raise
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if digest.hexdigest() != sha256:
            tmp.unlink()
            raise DamagedBlob(f"the stored bytes of blob {sha256[:12]}... do not match their sha256", sha256=sha256)
        os.replace(tmp, path)
        return path

    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.has(sha):
            with self._s3():
                self.client.put_object(Bucket=self.bucket, Key=f"blobs/{sha}", Body=data)
        return sha

    # ---- uploads -----------------------------------------------------------------------
    def stage(self, owner: int, name: str, data: bytes) -> None:
        """Keep a piece of an upload in progress (an Xet xorb): every replica can read it."""
        with self._s3():
            self.client.put_object(Bucket=self.bucket, Key=f"uploads/{int(owner)}-{check_sha256(name)}.xorb", Body=data)

    def staged(self, owner: int, name: str) -> bytes | None:
        try:
            with self._s3():
                obj = self.client.get_object(Bucket=self.bucket, Key=f"uploads/{int(owner)}-{check_sha256(name)}.xorb")
                return obj["Body"].read()
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in MISSING:
                return None
            raise

    def proven(self, owner: int, sha256: str) -> bool:
        """Did this owner upload these bytes themselves? (A sha256 is public metadata.)"""
        return self.has(sha256) and self._head(f"proofs/{int(owner)}-{check_sha256(sha256)}") is not None

    def _key(self, owner: int, sha256: str) -> str:
        return f"uploads/{int(owner)}-{check_sha256(sha256)}"

    def load_state(self, owner: int, sha256: str) -> tuple[dict, bytes] | None:
        """(state, tail) of an upload in progress: {"upload_id", "parts": [[n, etag, size]...]}."""
        try:
            with self._s3():
                raw = self.client.get_object(Bucket=self.bucket, Key=self._key(owner, sha256) + ".state")["Body"].read()
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in MISSING:
                return None
            raise
        head, _, tail = raw.partition(b"\n")
        return json.loads(head), tail

    def save_state(self, owner: int, sha256: str, state: dict, tail: bytes) -> None:
        body = json.dumps(state).encode() + b"\n" + tail  # one object, replaced whole: never torn
        with self._s3():
            self.client.put_object(Bucket=self.bucket, Key=self._key(owner, sha256) + ".state", Body=body)

    def received(self, owner: int, sha256: str) -> int:
        if self.proven(owner, sha256):
            return -1
        found = self.load_state(owner, sha256)
        return 0 if found is None else sum(p[2] for p in found[0]["parts"]) + len(found[1])

    def writer(self, owner: int, sha256: str, size: int, offset: int) -> S3Writer:
        if size < 0 or size > self.max_size:
            raise TooLarge(f"a file may be at most {self.max_size} bytes", size=size)
        found = self.load_state(owner, sha256)
        have = 0 if found is None else sum(p[2] for p in found[0]["parts"]) + len(found[1])
        if offset != have:
            raise Conflict(f"upload offset {offset} does not match the {have} bytes received",
                           hint="ask for the received size and resume from there", received=have)
        if found is None:
            with self._s3():
                upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=self._key(owner, sha256))["UploadId"]
            found = {"upload_id": upload_id, "parts": []}, b""
            self.save_state(owner, sha256, *found)
        return S3Writer(self, owner, sha256, size, found[0], found[1])

    def _drop(self, owner: int, sha256: str, state: dict | None) -> None:
        key = self._key(owner, sha256)
        with self._s3():
            if state is not None:
                try:
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=state["upload_id"])
                except ClientError:
                    pass  # completed or aborted already
            self.client.delete_object(Bucket=self.bucket, Key=key + ".state")
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def finish(self, owner: int, sha256: str, size: int) -> str:
        """Complete the upload, check its sha256, and only then make it a blob."""
        key = self._key(owner, sha256)
        digest = self._hashed.pop((int(owner), sha256), None)
        found = self.load_state(owner, sha256)
        if found is None:
            if self.proven(owner, sha256):
                return f"blobs/{sha256}"
            raise NotFound("no upload in progress for this sha256", sha256=sha256)
        state, tail = found
        have = sum(p[2] for p in state["parts"]) + len(tail)
        if have != size:
            raise Conflict(f"upload incomplete: {have} of {size} bytes", received=have)
        parts = [list(p) for p in state["parts"]]
        try:
            with self._s3():
                if tail or not parts:
                    n = len(parts) + 1
                    etag = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=state["upload_id"],
                                                   PartNumber=n, Body=tail)["ETag"]
                    parts.append([n, etag, len(tail)])
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=state["upload_id"],
                    MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag, _ in parts]})
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in MISSING:
                self._drop(owner, sha256, None)
                raise Conflict("the upload was lost on the storage side; send it again from 0", received=0) from None
            raise
        if digest is None:  # came in several requests: read it back
            digest = self._hash_object(key)
        if digest != sha256:
            self._drop(owner, sha256, None)
            raise BadInput("the uploaded bytes do not match the declared sha256",
                           hint="the upload was discarded; send it again", sha256=sha256)
        with self._s3():
            if not self.has(sha256):
                self.client.copy({"Bucket": self.bucket, "Key": key}, self.bucket, f"blobs/{sha256}",
                                 Config=TransferConfig(multipart_threshold=4 * 1024**3, multipart_chunksize=512 * 1024**2))
            self.client.put_object(Bucket=self.bucket, Key=f"proofs/{int(owner)}-{sha256}", Body=b"")
            self.client.delete_object(Bucket=self.bucket, Key=key + ".state")
            self.client.delete_object(Bucket=self.bucket, Key=key)
        return f"blobs/{sha256}"

    def _hash_object(self, key: str) -> str:
        digest = hashlib.sha256()
        with self._s3():
            for block in self.client.get_object(Bucket=self.bucket, Key=key)["Body"].iter_chunks(CHUNK):
                digest.update(block)
        return digest.hexdigest()


class S3Writer:
    """One request's bytes of an upload: full parts go to S3 as they fill, the tail is saved with
    the state on ``close()``; a request that started at 0 is hashed on the way."""

    def __init__(self, store: S3BlobStore, owner: int, sha256: str, size: int, state: dict, tail: bytes) -> None:
        self.store, self.owner, self.sha256, self.size, self.state = store, int(owner), sha256, size, state
        self.buffer = bytearray(tail)
        self.received = sum(p[2] for p in state["parts"]) + len(tail)
        self.digest: Any = hashlib.sha256() if self.received == 0 else None
        self.closed = False

    def write(self, chunk: bytes) -> None:
        if self.received + len(chunk) > self.size:
            raise BadInput("more bytes than the declared size", size=self.size)
        self.buffer += chunk
        self.received += len(chunk)
        if self.digest is not None:
            self.digest.update(chunk)
        while len(self.buffer) >= PART:
            self._send(bytes(self.buffer[:PART]))
            del self.buffer[:PART]

    def _send(self, body: bytes) -> None:
        n = len(self.state["parts"]) + 1
        store = self.store
        with store._s3():
            etag = store.client.upload_part(Bucket=store.bucket, Key=store._key(self.owner, self.sha256),
                                            UploadId=self.state["upload_id"], PartNumber=n, Body=body)["ETag"]
        self.state["parts"].append([n, etag, len(body)])
        # bytes past this part are not on record until close(): a crash resumes from here
        store.save_state(self.owner, self.sha256, self.state, b"")

    def close(self) -> int:
        if not self.closed:
            self.closed = True
            self.store.save_state(self.owner, self.sha256, self.state, bytes(self.buffer))
            if self.digest is not None and self.received == self.size:
                self.store._hashed[(self.owner, self.sha256)] = self.digest.hexdigest()
        return self.received
