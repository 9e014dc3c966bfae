"""Blob integrity: a blob whose bytes no longer match its sha256 is never served as good.

Downloads hash while they stream (routes/files.py) and call ``found_bad`` on a mismatch;
ranges and X-Accel-Redirect hand out bytes that cannot be hashed on the way, so they are
served only from blobs that are known good (``ensure_verified``). The scrub re-hashes every
blob, in the ``aperto blobs verify`` command or in a low-priority thread of the hub process.
A bad blob is moved to ``<data_dir>/quarantine/``, recorded in the audit log, and refused.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from aperto.hub.core import Core, audit
from aperto.store import repos as rows
from aperto.store.blobs import DamagedBlob

log = logging.getLogger("aperto.hub.blobs")
HINT = "the hub operator runs `aperto blobs verify` and has the file published again"


class Integrity:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.blobs = core.blobs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def servable(self, sha256: str, size: int) -> Path:
        """The blob's path, or a clear refusal when its bytes are gone or visibly wrong."""
        path = self.blobs.path(sha256)
        try:
            actual = path.stat().st_size
        except FileNotFoundError:
            note = self.blobs.quarantined(sha256)
            why = (f"were found damaged and quarantined on {note['at']}" if note else "are missing")
            raise DamagedBlob(f"the stored bytes of blob {sha256[:12]}... {why}", hint=HINT, sha256=sha256) from None
        if actual != size:
            self.found_bad(sha256, f"size {actual}, expected {size}", "download")
        return path

    def ensure_verified(self, sha256: str, size: int) -> Path:
        """For bytes handed out without hashing (ranges, nginx): hash the whole blob first unless a
        full verification since its last change is on record."""
        path = self.servable(sha256, size)
        if not self.blobs.known_good(sha256):
            found = self.blobs.verify(sha256)
            if found is not None:
                self.found_bad(sha256, found, "download")
        return path

    def found_bad(self, sha256: str, found: str, by: str) -> None:
        """Quarantine, record, and refuse."""
        self.quarantine(sha256, found, by)
        raise DamagedBlob(f"the stored bytes of blob {sha256[:12]}... do not match their sha256; "
                          "the blob was quarantined", hint=HINT, sha256=sha256)

    def quarantine(self, sha256: str, found: str, by: str) -> None:
        dest = self.blobs.quarantine(sha256, found, by)
        log.error("blob %s does not match its sha256 (found %s, by %s): moved to %s", sha256, found, by, dest)
        with self.core.write() as s:
            audit(s, "system", "blob.quarantine", f"blob:{sha256}", {"sha256": sha256},
                  {"found": found, "by": by, "moved_to": dest.name})

    # ---- the scrub ----------------------------------------------------------------------
    def scrub(self, by: str = "scrub", each: Callable[[str, int, str | None], None] | None = None,
              stop: threading.Event | None = None) -> dict:
        """Hash every blob on disk; quarantine those that do not match. Also names blobs that
        commits reference but that are not on disk. ``each(sha256, size, found_or_None)``."""
        checked, size_sum, bad = 0, 0, []
        for sha in self.blobs.all():
            if stop is not None and stop.is_set():
                break
            try:
                size = self.blobs.path(sha).stat().st_size
                found = self.blobs.verify(sha)
            except FileNotFoundError:
                continue  # quarantined or replaced meanwhile
            checked, size_sum = checked + 1, size_sum + size
            if found is not None:
                self.quarantine(sha, found, by)
                bad.append(sha)
            if each is not None:
                each(sha, size, found)
        with self.core.store.read() as s:
            referenced = rows.all_blob_hashes(s)
        missing = sorted(sha for sha in referenced if not self.blobs.has(sha))
        return {"checked": checked, "bytes": size_sum, "bad": bad, "missing": missing}

    def start_scrub(self, interval_s: float) -> None:
        """Re-hash every blob every ``interval_s`` seconds in a daemon thread at the lowest CPU
        priority, so serving comes first (0: off)."""
        if interval_s <= 0 or self._thread is not None or self.blobs.remote:  # S3: hashed at upload
            return
        self._thread = threading.Thread(target=self._scrub_loop, args=(interval_s,), name="aperto-scrub",
                                        daemon=True)
        self._thread.start()

    def _scrub_loop(self, interval_s: float) -> None:
        try:  # Linux: a thread's own nice value
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except OSError:
            pass
        while not self._stop.wait(interval_s):
            try:
                report = self.scrub(stop=self._stop)
            except Exception:  # a failed pass must not end the thread; the next one retries
                log.exception("blob scrub failed")
                continue
            log.info("blob scrub: %d checked, %d quarantined, %d missing", report["checked"],
                     len(report["bad"]), len(report["missing"]))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
