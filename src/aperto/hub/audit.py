"""Reading and checking the hash-chained audit log, and signing checkpoints of its head.

After every write transaction that appended audit rows, the hub signs a checkpoint (see
``checkpoint``) of the whole log in that same transaction, and afterwards copies it to a
file in the data dir, outside the database. Cutting the newest rows from the database then
shows: a signed checkpoint vouches for more rows than remain.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aperto.config import Settings
from aperto.errors import BadInput, Conflict, NotFound
from aperto.hub import checkpoint as cp
from aperto.hub.auth import Caller, iso, need, utcnow
from aperto.hub.core import GENESIS, Core, audit_hash
from aperto.store import Session, Store
from aperto.store import audit as rows

log = logging.getLogger("aperto.hub.audit")
KEY_FILE = "audit-ed25519.pem"  # the private key, owner-only
CHECKPOINT_FILE = "audit-checkpoint"  # the newest signed checkpoint, outside the database


class Audit:
    def __init__(self, core: Core) -> None:
        self.core = core
        data_dir = core.settings.data_dir
        self.private = load_or_create_key(data_dir)
        self.key = public_key(self.private)
        self.file = data_dir / CHECKPOINT_FILE
        self.highest = self._check_not_cut()
        core.checkpointer = self
        with core.write() as s:  # vouch for rows written before checkpoints existed
            s.info["audited"] = True

    # ---- signing ---------------------------------------------------------------------
    def seal(self, s: Session) -> str | None:
        """Sign a checkpoint of the whole log. Runs under the write lock, inside the
        transaction that appended rows: O(new rows + log n), never a re-hash of the log."""
        last = rows.latest_checkpoint(s)
        if last and last.size < self.highest:  # never sign a history shorter than one already signed
            raise Conflict(f"the audit log was cut: a checkpoint for {self.highest} rows was signed, the database's "
                           f"newest is for {last.size}; no new checkpoint is signed", hint="restore the database")
        tree = resume(last) if last else cp.Tree()
        for a in rows.rows(s, after=tree.size):
            tree.append(cp.leaf(stored(a)))
        if tree.size == (last.size if last else 0):
            return None
        root = tree.root()
        note = cp.sign_note(cp.checkpoint_text(self.key.name, tree.size, root), self.key.name, self.private)
        rows.add_checkpoint(s, size=tree.size, root=root.hex(), frontier=json.dumps([h.hex() for h in tree.frontier]),
                            note=note, at=iso(utcnow()) or "")
        return note

    def publish(self, note: str) -> None:
        """Copy the checkpoint out of the database, unless a larger one is already there
        (another process may have committed after us and written first)."""
        self.highest = max(self.highest, _size(note))  # only once committed: a rollback must not raise it
        try:
            # owner-only like everything in the data dir; the checkpoint is public through the API
            lock_fd = os.open(self.file.with_name(CHECKPOINT_FILE + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
            with os.fdopen(lock_fd) as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if self.file.exists():
                    try:
                        if cp.verify_checkpoint(self.file.read_text(), self.key).size >= _size(note):
                            return
                    except BadInput:
                        pass  # unreadable or foreign: replace it with ours
                write_atomic(self.file, note.encode(), 0o600)
        except OSError as exc:
            # the write is committed and its checkpoint is in the database; failing the request now
            # would invite a retry that repeats it. The file lags until the next write succeeds.
            log.warning("could not copy the audit checkpoint to %s: %s", self.file, exc)

    def _check_not_cut(self) -> int:
        """Refuse to start on a database shorter than the checkpoint kept outside it."""
        if not self.file.exists():
            return 0
        try:
            kept = cp.verify_checkpoint(self.file.read_text(), self.key).size
        except BadInput as exc:
            raise Conflict(f"{self.file} does not verify with the hub's key: {exc.message}",
                           hint="move it aside only if you know why it changed") from None
        with self.core.store.read() as s:
            last = rows.latest_checkpoint(s)
            present = rows.count(s)
        if present < kept or (last.size if last else 0) < kept:
            raise Conflict(f"the audit log was cut: {self.file} vouches for {kept} rows, the database holds {present}",
                           hint="restore the database; run 'aperto audit verify' for details")
        return kept

    # ---- reading ---------------------------------------------------------------------
    def audit_rows(self, caller: Caller | None, after: int = 0, limit: int = 1000) -> list[dict]:
        need(caller, "admin")
        return list(self.iter_audit(after, limit))

    def search(self, caller: Caller | None, actor: str = "", action: str = "", subject: str = "",
               since: str = "", limit: int = 500) -> list[dict]:
        """Admins: the newest rows first, each filter a case-blind substring (``since`` an ISO date)."""
        need(caller, "admin")
        actor, action, subject = actor.casefold(), action.casefold(), subject.casefold()
        found = [a for a in self.iter_audit()
                 if actor in a["actor"].casefold() and action in a["action"].casefold()
                 and subject in a["subject"].casefold() and str(a["at"]) >= since]
        return found[::-1][:limit]

    def iter_audit(self, after: int = 0, limit: int | None = None) -> Iterator[dict]:
        with self.core.store.read() as s:
            for a in rows.rows(s, after=after, limit=limit):
                yield {"seq": a.seq, "actor": a.actor, "action": a.action, "subject": a.subject,
                       "before": json.loads(a.before), "after": json.loads(a.after), "at": a.at,
                       "prev_hash": a.prev_hash, "hash": a.hash}

    def latest_checkpoint(self) -> str:
        with self.core.store.read() as s:
            last = rows.latest_checkpoint(s)
        if not last:
            raise NotFound("the hub has signed no checkpoint yet: its audit log is empty")
        return last.note

    def verify_audit(self) -> dict:
        """Recompute the chain and check the checkpoints against the rows."""
        with self.core.store.read() as s:
            last = rows.latest_checkpoint(s)
        notes = [("the database", last.note)] if last else []
        if self.file.exists():
            notes.append((str(self.file), self.file.read_text()))
        return {**check_log(self.core.store, self.key, notes), "key": self.key.vkey}


def resume(last: Any) -> cp.Tree:
    """The tree as of the newest checkpoint, from its stored frontier, which must give the root
    that checkpoint signed: otherwise new checkpoints would sign a damaged tree."""
    try:
        tree = cp.Tree(last.size, [bytes.fromhex(h) for h in json.loads(last.frontier)])
        signed = cp.parse_checkpoint(last.note[:last.note.rindex("\n\n") + 1])
    except (ValueError, TypeError, BadInput):
        signed = None
    if signed is None or (signed.size, signed.root) != (tree.size, tree.root()):
        raise Conflict(f"the database's audit checkpoint for {last.size} rows is damaged; no new checkpoint is signed",
                       hint="run 'aperto audit verify' and restore the database")
    return tree


def stored(a: Any) -> dict[str, Any]:
    """An audit row exactly as stored (before/after stay the JSON texts that were hashed)."""
    return {f: getattr(a, f) for f in cp.LEAF_FIELDS}


def _size(note: str) -> int:
    return int(note.split("\n", 2)[1])


def check_log(store: Store, key: cp.VerifierKey | None, notes: list[tuple[str, str]],
              has_checkpoints: bool = True) -> dict:
    """The chain, then every given checkpoint (source, note): signed by ``key``, for no more
    rows than are present, and with the Merkle root of that many rows. The newest rows must
    be vouched for by a checkpoint. The first problem found is named in ``why``."""
    checkpoints: list[tuple[str, cp.Checkpoint]] = []
    for source, note in notes:
        if key is None:
            return _bad(0, f"no trusted key to check the checkpoint from {source}: pass --key (the hub's "
                           "'aperto audit key', or GET /api/audit/key)")
        try:
            checkpoints.append((source, cp.verify_checkpoint(note, key)))
        except BadInput as exc:
            return _bad(0, f"the checkpoint from {source} is not valid: {exc.message}")
    wanted = {c.size for _, c in checkpoints}
    roots: dict[int, bytes] = {0: cp.Tree().root()}
    tree, prev, count = cp.Tree(), GENESIS, 0
    with store.read() as s:
        for a in rows.rows(s):
            count += 1
            row = stored(a)
            if a.seq != count:
                return _bad(count, f"row {count} is missing", a.seq)
            if a.prev_hash != prev:
                return _bad(count, f"row {a.seq} does not link to row {a.seq - 1}", a.seq)
            if audit_hash(row) != a.hash:
                return _bad(count, f"row {a.seq} was altered (its hash does not match its contents)", a.seq)
            prev = a.hash
            tree.append(cp.leaf(row))
            if tree.size in wanted:
                roots[tree.size] = tree.root()
        vouched = 0
        for source, c in checkpoints:
            if c.size > count:
                now = rows.count(s)  # rows committed after our read are not a cut
                if now < c.size:
                    return _bad(count, f"the log was cut: the signed checkpoint from {source} vouches for {c.size} "
                                       f"rows but only {now} are present; the newest {c.size - now} were deleted")
                continue
            if roots[c.size] != c.root:
                return _bad(count, f"the first {c.size} rows differ from what the signed checkpoint from {source} "
                                   "vouches for: they were rewritten")
            vouched = max(vouched, c.size)
        exact = rows.checkpoint_at(s, count) if key and has_checkpoints and vouched < count else None
        if exact and key:  # signed after our first look at the checkpoints
            try:
                if cp.verify_checkpoint(exact.note, key).root == tree.root():
                    vouched = count
            except BadInput as exc:
                return _bad(count, f"the database's checkpoint for {count} rows is not valid: {exc.message}")
    if vouched < count:
        return _bad(count, f"rows {vouched + 1} to {count} are not vouched for by any signed checkpoint "
                           "(written outside the hub, or its newest checkpoints were removed)")
    return {"ok": True, "rows": count, "head": prev, "checkpoint": vouched, "key": key.vkey if key else None}


def _bad(count: int, why: str, bad_seq: int | None = None) -> dict:
    return {"ok": False, "rows": count, "bad_seq": bad_seq, "why": why}


def open_stored(settings: Settings) -> tuple[Store, bool]:
    """A hub's database, which must exist: nothing is created or migrated."""
    if not settings.database_url and not settings.data_dir.is_dir():
        raise NotFound(f"no hub data dir at {settings.data_dir}; nothing was read or created",
                       hint="pass the folder the hub runs with (--data-dir) or --database-url")
    return rows.open_existing(settings.resolved_database_url())


def export_rows(settings: Settings, leaves: bool) -> Iterator[str]:
    """JSON lines: the rows (before/after parsed), or with ``leaves`` each row's Merkle leaf."""
    store, _ = open_stored(settings)
    try:
        with store.read() as s:
            for a in rows.rows(s):
                row = stored(a)
                if leaves:
                    yield cp.leaf(row).decode()
                else:
                    yield json.dumps({**row, "before": json.loads(a.before), "after": json.loads(a.after)},
                                     sort_keys=True)
    finally:
        store.close()


def verify_stored(settings: Settings, vkey: str | None = None, extra: list[tuple[str, str]] | None = None) -> dict:
    """``aperto audit verify``: check a hub's database from outside the hub. Refuses a data
    dir or database that does not exist, creates and migrates nothing. The trusted key is
    ``vkey`` if given, else the one in the data dir."""
    data_dir, url = settings.data_dir, settings.resolved_database_url()
    store, has_checkpoints = open_stored(settings)
    try:
        key = cp.parse_vkey(vkey) if vkey else stored_key(data_dir)
        notes = list(extra or [])
        if has_checkpoints:
            with store.read() as s:
                last = rows.latest_checkpoint(s)
            if last:
                notes.append(("the database", last.note))
        file = data_dir / CHECKPOINT_FILE
        if file.is_file():
            notes.append((str(file), file.read_text()))
        result = check_log(store, key, notes, has_checkpoints)
    finally:
        store.close()
    return {**result, "database": rows.describe(url), "key": key.vkey if key else None}


def stored_checkpoint(settings: Settings) -> dict:
    """``aperto audit checkpoint``: the newest signed checkpoint and the key to check it."""
    data_dir, url = settings.data_dir, settings.resolved_database_url()
    store, has_checkpoints = open_stored(settings)
    key = stored_key(data_dir)
    if key is None:
        store.close()
        raise NotFound(f"no audit signing key in {data_dir}", hint="pass the data dir the hub runs with")
    notes = []
    file = data_dir / CHECKPOINT_FILE
    if file.is_file():
        notes.append((str(file), file.read_text()))
    try:
        if has_checkpoints:
            with store.read() as s:
                last = rows.latest_checkpoint(s)
            if last:
                notes.append(("the database", last.note))
    finally:
        store.close()
    sizes = {}
    for source, note in notes:
        try:
            sizes[note] = cp.verify_checkpoint(note, key).size
        except BadInput as exc:
            raise BadInput(f"the checkpoint from {source} is not valid: {exc.message}",
                           hint="run 'aperto audit verify'") from None
    if not sizes:
        raise NotFound(f"{rows.describe(url)} has no signed checkpoint yet", hint="start the hub once")
    note = max(sizes, key=sizes.__getitem__)
    return {"checkpoint": note, "size": sizes[note], "vkey": key.vkey, "database": rows.describe(url)}


# ---- the key ---------------------------------------------------------------------------
def public_key(private: Ed25519PrivateKey) -> cp.VerifierKey:
    raw = private.public_key().public_bytes_raw()
    # the log's name is derived from its key, so two hubs never share a name (origin = key name)
    return cp.verifier_key(f"aperto.hub/audit/{hashlib.sha256(raw).hexdigest()[:16]}", raw)


def stored_key(data_dir: Path) -> cp.VerifierKey | None:
    path = data_dir / KEY_FILE
    return public_key(_read_key(path)) if path.exists() else None


def load_or_create_key(data_dir: Path) -> Ed25519PrivateKey:
    """The hub's signing key; created owner-only on first start. Two processes starting at
    once agree on one key: the file appears whole, by a hard link that fails if it exists."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        write_atomic(path, pem, 0o600, exclusive=True)
    return _read_key(path)


def _read_key(path: Path) -> Ed25519PrivateKey:
    if path.stat().st_mode & 0o077:
        raise Conflict(f"the audit signing key {path} is readable or writable by others",
                       hint=f"chmod 600 {path}, and consider it leaked if others could read it")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError:
        raise BadInput(f"{path} is not a PEM private key", hint="restore it from a backup") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadInput(f"{path} is not an Ed25519 key")
    return key


def write_atomic(path: Path, data: bytes, mode: int, exclusive: bool = False) -> None:
    """Crash-safe: a temporary file, fsynced, then renamed (or, if ``exclusive``, hard-linked
    so that an existing file is never replaced), then the folder fsynced."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process made it first; theirs is used
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
