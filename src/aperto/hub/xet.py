"""Xet uploads, so huggingface_hub with hf_xet installed publishes large files unchanged.

huggingface_hub 2.4 never falls back from Xet to Git LFS: with hf_xet installed (and
HF_HUB_DISABLE_XET unset) every file that preupload calls "lfs" goes to an Xet CAS. So the hub
is one, for uploads only: the write-token URL hands out a short-lived token signed for one hub
token and one repo, the client posts its xorbs (chunks) and then a shard naming which chunks
make each file, and the hub rebuilds each file into an ordinary upload of the caller's, which
``BlobStore.finish`` checks against the file's sha256 as it checks a Git LFS upload. The
commit that follows names the file by that sha256, as with LFS. Downloads stay plain HTTP
(the hub sends no Xet headers), and there is no global deduplication: every chunk query is
answered "not found", so no one learns what others uploaded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

from aperto.errors import BadInput, NotFound, Unauthorized
from aperto.hub.auth import Caller
from aperto.hub.repos import Repos
from aperto.hub.xet_format import XORB_MAX, FileEntry, chunks, parse_shard
from aperto.store.blobs import check_sha256

TOKEN_TTL = 3600  # seconds; hf_xet asks the write-token URL again before it runs out


class Xet:
    def __init__(self, repos: Repos, key: Callable[[], bytes], caller_of: Callable[[str], Caller]) -> None:
        self.repos, self.key, self.caller_of = repos, key, caller_of
        self.blobs = repos.blobs

    # ---- tokens -------------------------------------------------------------------------
    def _signature(self, token_sha: str, name: str, expires: int) -> str:
        return hmac.new(self.key(), f"xet-write:{token_sha}:{name}:{expires}".encode(), hashlib.sha256).hexdigest()

    def write_token(self, caller: Caller, name: str, base: str) -> dict:
        """What hf_xet reads from /api/models/{repo}/xet-write-token/{rev}. ``caller`` may
        publish to ``name`` (checked by the caller of this, as for preupload)."""
        if not caller.token_sha256:
            raise Unauthorized("Xet uploads need a bearer token", hint="pass Authorization: Bearer <token>")
        expires = int(time.time()) + TOKEN_TTL
        repo = base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")
        token = f"{expires}.{caller.token_sha256}.{repo}.{self._signature(caller.token_sha256, name, expires)}"
        return {"accessToken": token, "exp": expires, "casUrl": f"{base.rstrip('/')}/xet"}

    def authenticate(self, token: str | None) -> tuple[Caller, str]:
        """(the hub caller, the repo) an Xet token was signed for, while it is valid."""
        parts = (token or "").split(".")
        if len(parts) != 4 or not parts[0].isdigit():
            raise Unauthorized("an Xet request needs the token from the xet-write-token URL",
                               hint="upload with huggingface_hub; it fetches one")
        expires, token_sha, repo, sig = int(parts[0]), parts[1], parts[2], parts[3]
        try:
            name = base64.urlsafe_b64decode(repo + "=" * (-len(repo) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            name = ""
        good = self._signature(token_sha, name, expires)
        if not name or not hmac.compare_digest(good.encode(), sig.encode()) or expires < time.time():
            raise Unauthorized("this Xet token is invalid or expired", hint="ask the xet-write-token URL again")
        return self.caller_of(token_sha), name

    # ---- CAS ----------------------------------------------------------------------------
    def put_xorb(self, token: str | None, xorb_hash: str, body: bytes) -> dict:
        """Keep a xorb among the caller's own (rebuilding a file reads only the uploader's)."""
        caller, name = self.authenticate(token)
        check_sha256(xorb_hash)
        if len(body) > XORB_MAX or len(body) < 8:
            raise BadInput(f"a xorb is 8 bytes to {XORB_MAX} bytes, not {len(body)}")
        self.repos.upload_status(caller, name, xorb_hash)  # may still publish to the repo
        fresh = self.blobs.staged(caller.user_id, xorb_hash) is None
        if fresh:
            self.blobs.stage(caller.user_id, xorb_hash, body)
        return {"was_inserted": fresh}

    def put_shard(self, token: str | None, body: bytes) -> dict:
        """Rebuild every file the shard lists from the caller's xorbs into a verified blob."""
        caller, name = self.authenticate(token)
        files = parse_shard(body)
        for entry in files:
            self._rebuild(caller, name, entry)
        return {"result": 1 if files else 0}

    def _rebuild(self, caller: Caller, name: str, entry: FileEntry) -> None:
        sha, size = entry.sha256, entry.size
        if size > self.blobs.max_size:
            raise BadInput(f"a file may be at most {self.blobs.max_size} bytes, not {size}")
        status = self.repos.upload_status(caller, name, sha)
        if status["complete"]:
            return
        skip = have = status["received"]  # a rebuild cut off earlier resumes where it stopped
        out = self.repos.upload_writer(caller, name, sha, size, have)
        if out is None:
            return
        xorbs: dict[str, bytes] = {}
        try:
            for seg in entry.segments:
                if seg.xorb not in xorbs:
                    xorbs.clear()  # a file's segments come xorb by xorb: hold one at a time
                    found = self.blobs.staged(caller.user_id, seg.xorb)
                    if found is None:
                        raise BadInput(f"the shard names xorb {seg.xorb[:12]}..., which was not uploaded",
                                       hint="upload again; if it persists, clear hf_xet's cache (HF_HOME/xet)")
                    xorbs[seg.xorb] = found
                got = 0
                for chunk in chunks(xorbs[seg.xorb], seg.start, seg.end):
                    got += len(chunk)
                    if skip >= len(chunk):
                        skip -= len(chunk)
                        continue
                    out.write(chunk[skip:])
                    skip = 0
                if got != seg.size:
                    raise BadInput(f"a shard segment of {sha[:12]}... unpacks to {got} bytes, not {seg.size}")
        finally:
            received = out.close()
        self.repos.upload_done(caller, sha, size, received)

    def chunk(self, token: str | None) -> None:
        """Global deduplication is off: no chunk is ever reported as stored."""
        self.authenticate(token)
        raise NotFound("this hub does not deduplicate chunks across uploads")
