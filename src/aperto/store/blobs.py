"""Content-addressed blobs under ``<data_dir>/blobs/<sha256[:2]>/<sha256>``.

An upload grows in ``<data_dir>/uploads/`` and becomes a blob only after its
sha256 and size are verified: written, fsynced, then renamed into place, so a
crash never leaves a visible partial blob. A blob is referenced by the files of
a commit only after that commit is in the database.

Bytes can still rot or be altered on disk afterwards. A blob hashed in full (at upload, by a
complete download, by the scrub) gets a marker under ``<data_dir>/verified/`` holding its
(size, mtime_ns, ctime_ns, inode); a blob whose stat no longer matches its marker is not known
good. A blob found bad is moved to ``<data_dir>/quarantine/`` with a note saying what was found.
Everything here is owner-only: folders 0700, files 0600.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from aperto.config import Settings, private_dir
from aperto.errors import BadInput, Conflict, NotFound, TooLarge, Unavailable

SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024


def check_sha256(value: str) -> str:
    if not SHA256.match(value or ""):
        raise BadInput("sha256 must be 64 lowercase hex characters", sha256=value)
    return value


class DamagedBlob(Unavailable):
    """The stored bytes of a file are missing or no longer match its sha256."""

    code = "blob_damaged"


def _write_private(path: Path, data: bytes) -> None:
    """Crash-safe, owner-only: a temporary file, fsynced, renamed over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def stamp(st: os.stat_result) -> str:
    """What a verified-marker records: any write, truncation or replacement changes it."""
    return f"{st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino}"


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def readable_by_others(root: Path) -> list[Path]:
    """``root`` and everything under it whose mode grants group or other users any access."""
    found = [Path(root)] if os.stat(root).st_mode & 0o077 else []
    for folder, dirs, files in os.walk(root):  # does not follow links into other folders
        for name in dirs + files:
            st = os.lstat(os.path.join(folder, name))
            if st.st_mode & 0o077 and not stat.S_ISLNK(st.st_mode):
                found.append(Path(folder) / name)
    return found


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_blobs(settings: Settings) -> BlobStore:
    """The hub's blob store: an S3 bucket when ``APERTO_BLOB_URL`` is ``s3://...``, else the data dir."""
    if settings.blob_url:
        from aperto.store.s3 import S3BlobStore  # boto3 comes with the fleet extra

        return S3BlobStore(settings)  # type: ignore[return-value]  # the same interface, over S3
    return BlobStore(settings.data_dir, settings.max_upload_bytes)


class BlobStore:
    remote = False  # S3BlobStore: downloads are redirects to presigned URLs

    def __init__(self, root: Path, max_size: int = 64 * 1024**3) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.uploads = self.root / "uploads"
        self.verified = self.root / "verified"
        self.quarantine_dir = self.root / "quarantine"
        self.max_size = max_size
        for folder in (self.blobs, self.uploads, self.verified):
            private_dir(folder)

    def path(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.blobs / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def local(self, sha256: str) -> Path:
        """A path to read the blob's bytes from (S3BlobStore: a verified local copy)."""
        return self.path(sha256)

    def all(self) -> Iterator[str]:
        """The sha256 of every blob on disk."""
        for sub in sorted(self.blobs.iterdir()):
            if sub.is_dir():
                yield from sorted(p.name for p in sub.iterdir() if SHA256.match(p.name) and p.is_file())

    # ---- verification ---------------------------------------------------------------
    def _marker(self, sha256: str) -> Path:
        return self.verified / sha256[:2] / check_sha256(sha256)

    def known_good(self, sha256: str) -> bool:
        """Hashed in full since its bytes last changed (its stat still matches the marker)."""
        try:
            return self._marker(sha256).read_text() == stamp(self.path(sha256).stat())
        except FileNotFoundError:
            return False

    def mark_verified(self, sha256: str, st: os.stat_result) -> None:
        """Record a full verification of the bytes that had stat ``st``; nothing if they changed since."""
        try:
            if stamp(self.path(sha256).stat()) != stamp(st):
                return
        except FileNotFoundError:
            return
        private_dir(self._marker(sha256).parent)
        _write_private(self._marker(sha256), stamp(st).encode())

    def verify(self, sha256: str) -> str | None:
        """Hash the blob in full. None when it matches (and marks it verified), else what was found."""
        path = self.path(sha256)
        st = path.stat()
        found = hash_file(path)
        if found != sha256:
            return found
        self.mark_verified(sha256, st)
        return None

    def quarantine(self, sha256: str, found: str, by: str) -> Path:
        """Move a bad blob out of service into ``quarantine/``, with a note of what was found."""
        private_dir(self.quarantine_dir)
        dest = self.quarantine_dir / f"{check_sha256(sha256)}.{time.time_ns()}"
        self._marker(sha256).unlink(missing_ok=True)
        try:
            os.replace(self.path(sha256), dest)
        except FileNotFoundError:
            pass  # moved already, by another request or the scrub
        note = {"sha256": sha256, "found": found, "by": by, "moved_to": dest.name,
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        _write_private(self.quarantine_dir / f"{sha256}.json", json.dumps(note).encode())
        return dest

    def quarantined(self, sha256: str) -> dict | None:
        """The note of the last quarantine of this blob, if any."""
        try:
            return json.loads((self.quarantine_dir / f"{check_sha256(sha256)}.json").read_text())
        except FileNotFoundError:
            return None

    def _part(self, owner: int, sha256: str) -> Path:
        check_sha256(sha256)
        # owner is a user id (int) so two publishers never write into one part file
        return self.uploads / f"{int(owner)}-{sha256}.part"

    def _proof(self, owner: int, sha256: str) -> Path:
        return self.uploads / f"{int(owner)}-{check_sha256(sha256)}.done"

    def proven(self, owner: int, sha256: str) -> bool:
        """Did this owner upload these bytes themselves? Knowing a sha256 is not owning
        the bytes: a gated file's sha256 is public metadata."""
        return self.has(sha256) and self._proof(owner, sha256).exists()

    def received(self, owner: int, sha256: str) -> int:
        if self.proven(owner, sha256):
            return -1  # already complete: nothing to send
        part = self._part(owner, sha256)
        return part.stat().st_size if part.exists() else 0

    def writer(self, owner: int, sha256: str, size: int, offset: int) -> BlobWriter:
        """Open the upload for appending at ``offset`` (which must equal what is already there)."""
        if size < 0 or size > self.max_size:
            raise TooLarge(f"a file may be at most {self.max_size} bytes", size=size)
        part = self._part(owner, sha256)
        have = part.stat().st_size if part.exists() else 0
        if offset != have:
            raise Conflict(f"upload offset {offset} does not match the {have} bytes received",
                           hint="ask for the received size and resume from there", received=have)
        return BlobWriter(part, have, size)

    def append(self, owner: int, sha256: str, size: int, offset: int, chunks: Iterable[bytes]) -> int:
        """Write ``chunks`` at ``offset``. Returns the number of bytes received so far."""
        out = self.writer(owner, sha256, size, offset)
        try:
            for chunk in chunks:
                out.write(chunk)
        finally:
            received = out.close()
        return received

    def finish(self, owner: int, sha256: str, size: int) -> Path:
        """Verify the upload and move it into the blob store."""
        final = self.path(sha256)
        part = self._part(owner, sha256)
        if final.is_file() and not part.exists():
            if self.proven(owner, sha256):
                return final
        if not part.exists():
            raise NotFound("no upload in progress for this sha256", sha256=sha256)
        have = part.stat().st_size
        if have != size:
            raise Conflict(f"upload incomplete: {have} of {size} bytes", received=have)
        if hash_file(part) != sha256:
            part.unlink()
            raise BadInput("the uploaded bytes do not match the declared sha256",
                           hint="the upload was discarded; send it again", sha256=sha256)
        private_dir(final.parent)
        if final.is_file():
            part.unlink()  # the same bytes are stored already
        else:
            os.replace(part, final)
            _fsync_dir(final.parent)
            self.mark_verified(sha256, final.stat())  # hashed just above; the rename keeps the inode
        self._proof(owner, sha256).touch(mode=0o600)
        return final

    def _staged(self, owner: int, name: str) -> Path:
        return self.uploads / f"{int(owner)}-{check_sha256(name)}.xorb"

    def stage(self, owner: int, name: str, data: bytes) -> None:
        """Keep a piece of an upload in progress (an Xet xorb) under the owner's name for it."""
        _write_private(self._staged(owner, name), data)

    def staged(self, owner: int, name: str) -> bytes | None:
        try:
            return self._staged(owner, name).read_bytes()
        except FileNotFoundError:
            return None

    def put_bytes(self, data: bytes) -> str:
        """Small helper for tests and the web UI: store bytes directly."""
        sha = hashlib.sha256(data).hexdigest()
        final = self.path(sha)
        if not final.exists():
            private_dir(final.parent)
            tmp = self.uploads / f"direct-{sha}.part"
            _write_private(tmp, data)
            os.replace(tmp, final)
            self.mark_verified(sha, final.stat())
        return sha


class BlobWriter:
    """Appends to an upload's part file; refuses bytes beyond the declared size.
    ``close()`` fsyncs, so what was acknowledged survives a crash and can be resumed."""

    def __init__(self, part: Path, have: int, size: int) -> None:
        self.part, self.received, self.size = part, have, size
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "ab")  # closed in close()

    def write(self, chunk: bytes) -> None:
        if self.received + len(chunk) > self.size:
            raise BadInput("more bytes than the declared size", size=self.size)
        self._file.write(chunk)
        self.received += len(chunk)

    def close(self) -> int:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        return self.received
