"""Content-addressed blobs under ``<data_dir>/blobs/<sha256[:2]>/<sha256>``.

An upload grows in ``<data_dir>/uploads/`` and becomes a blob only after its
sha256 and size are verified: written, fsynced, then renamed into place, so a
crash never leaves a visible partial blob. A blob is referenced by the files of
a commit only after that commit is in the database.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from aperto.errors import BadInput, Conflict, NotFound, TooLarge

SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024


def check_sha256(value: str) -> str:
    if not SHA256.match(value or ""):
        raise BadInput("sha256 must be 64 lowercase hex characters", sha256=value)
    return value


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    def __init__(self, root: Path, max_size: int = 64 * 1024**3) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.uploads = self.root / "uploads"
        self.max_size = max_size
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.uploads.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.blobs / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

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
        digest = hashlib.sha256()
        with open(part, "rb") as f:
            while block := f.read(CHUNK):
                digest.update(block)
        if digest.hexdigest() != sha256:
            part.unlink()
            raise BadInput("the uploaded bytes do not match the declared sha256",
                           hint="the upload was discarded; send it again", sha256=sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.is_file():
            part.unlink()  # the same bytes are stored already
        else:
            os.replace(part, final)
            _fsync_dir(final.parent)
        self._proof(owner, sha256).touch()
        return final

    def put_bytes(self, data: bytes) -> str:
        """Small helper for tests and the web UI: store bytes directly."""
        sha = hashlib.sha256(data).hexdigest()
        final = self.path(sha)
        if not final.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.uploads / f"direct-{sha}.part"
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        return sha


class BlobWriter:
    """Appends to an upload's part file; refuses bytes beyond the declared size.
    ``close()`` fsyncs, so what was acknowledged survives a crash and can be resumed."""

    def __init__(self, part: Path, have: int, size: int) -> None:
        self.part, self.received, self.size = part, have, size
        self._file = open(part, "ab")  # noqa: SIM115 - closed in close()

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
