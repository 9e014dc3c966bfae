"""Signed checkpoints of the audit log, in formats a third party can check in any language.

- a leaf is the RFC 8785 (JCS) canonical JSON of one stored audit row (``LEAF_FIELDS``);
- the tree is RFC 6962's Merkle hash tree over the leaves;
- a checkpoint is a C2SP tlog-checkpoint (origin, tree size, base64 root) inside a C2SP
  signed note, signed with Ed25519 (signature type 0x01).

Pure: no files, no database, no clock. Anything wrong in what it is given raises BadInput
with a message naming the problem.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aperto.errors import BadInput

ED25519 = b"\x01"
DASH = "\u2014 "  # a signature line starts with an em dash and a space
LEAF_FIELDS = ("seq", "actor", "action", "subject", "before", "after", "at", "prev_hash", "hash")
MAX_SIGNATURES = 64  # the spec asks verifiers to bound a note; it must accept at least 16
MAX_SAFE_INT = 2**53 - 1  # JCS numbers are IEEE 754 doubles: larger integers would change


# ---- RFC 8785 (JCS) -------------------------------------------------------------------
def jcs(value: Any) -> bytes:
    """Canonical JSON of strings, integers, booleans, null, lists and objects."""
    try:
        return _jcs(value).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadInput("JCS needs valid Unicode: a string holds a lone surrogate") from exc


def _jcs(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            raise BadInput(f"JCS cannot carry the integer {value} exactly (beyond 2**53 - 1)")
        return str(value)  # ECMAScript prints safe integers as plain decimals
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_jcs(v) for v in value) + "]"
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise BadInput("JCS object keys must be strings")
        keys = sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))  # by UTF-16 code units
        return "{" + ",".join(_string(k) + ":" + _jcs(value[k]) for k in keys) + "}"
    raise BadInput(f"JCS here takes strings, integers, booleans, null, lists and objects, not {type(value).__name__}")


ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in ESCAPES:
            out.append(ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def leaf(row: dict[str, Any]) -> bytes:
    """The leaf of one audit row: its stored fields exactly (before/after stay JSON texts)."""
    missing = [f for f in LEAF_FIELDS if f not in row]
    if missing:
        raise BadInput(f"an audit row lacks {', '.join(missing)}")
    return jcs({f: row[f] for f in LEAF_FIELDS})


# ---- RFC 6962 Merkle tree ----------------------------------------------------------------
def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Tree:
    """The right edge of the tree: one root per perfect subtree, largest first (one per set
    bit of ``size``). Appending costs O(log n) and so does the root, so a checkpoint never
    re-hashes the log."""

    def __init__(self, size: int = 0, frontier: list[bytes] | None = None) -> None:
        frontier = list(frontier or [])
        if size < 0 or len(frontier) != bin(size).count("1") or any(len(h) != 32 for h in frontier):
            raise BadInput(f"a Merkle frontier for {size} leaves needs {bin(max(size, 0)).count('1')} hashes "
                           f"of 32 bytes, got {len(frontier)}")
        self.size = size
        self.frontier = frontier

    def append(self, data: bytes) -> None:
        self.frontier.append(leaf_hash(data))
        n = self.size
        while n & 1:  # each trailing one bit of the old size closes a perfect subtree
            right = self.frontier.pop()
            self.frontier.append(node_hash(self.frontier.pop(), right))
            n >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self.frontier:
            return hashlib.sha256(b"").digest()
        root = self.frontier[-1]
        for h in reversed(self.frontier[:-1]):
            root = node_hash(h, root)
        return root


# ---- C2SP signed note and tlog-checkpoint ------------------------------------------------
@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    public: bytes

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(ED25519 + self.public).decode()}"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes


def check_name(name: str) -> str:
    if not name or any(ch.isspace() for ch in name) or "+" in name:
        raise BadInput(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def verifier_key(name: str, public: bytes) -> VerifierKey:
    if len(public) != 32:
        raise BadInput("an Ed25519 public key is 32 bytes")
    return VerifierKey(check_name(name), key_id(name, public), public)


def parse_vkey(text: str) -> VerifierKey:
    """``<name>+<hex key id>+<base64(0x01 || public key)>``."""
    parts = text.strip().split("+", 2)  # base64 may hold "+"; a key name may not
    if len(parts) != 3:
        raise BadInput(f"{text.strip()!r} is not a verifier key (NAME+KEYID+BASE64)")
    name, hex_id, material = parts
    raw = _b64(material, "the verifier key")
    if len(raw) != 33 or raw[:1] != ED25519:
        raise BadInput("the verifier key is not an Ed25519 key (type 0x01 and 32 bytes)")
    key = verifier_key(name, raw[1:])
    if hex_id.lower() != key.key_id.hex():
        raise BadInput(f"the verifier key's id {hex_id} does not match its name and public key")
    return key


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    if "\n" in origin or not origin or size < 0 or len(root) != 32:
        raise BadInput("a checkpoint needs a one-line origin, a size >= 0 and a 32-byte root")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def sign_note(text: str, name: str, private: Ed25519PrivateKey) -> str:
    public = private.public_key().public_bytes_raw()
    signature = key_id(check_name(name), public) + private.sign(text.encode())
    return f"{text}\n{DASH}{name} {base64.b64encode(signature).decode()}\n"


def open_note(note: str, key: VerifierKey) -> str:
    """The note's text if ``key`` signed it; otherwise BadInput saying why. Signatures by
    other keys are ignored, as the spec requires."""
    if not note.endswith("\n") or any(ord(ch) < 0x20 and ch != "\n" for ch in note):
        raise BadInput("not a signed note: it must end in a newline and hold no control characters")
    split = note.rfind("\n\n")
    if split < 0:
        raise BadInput("not a signed note: no blank line before the signatures")
    text, lines = note[:split + 1], note[split + 2:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise BadInput(f"the note carries {len(lines)} signatures; at most {MAX_SIGNATURES} are read")
    verified = False
    for line in lines:
        if not line.startswith(DASH) or line.count(" ") != 2:
            raise BadInput(f"malformed signature line {line[:80]!r}")
        name, b64 = line[len(DASH):].split(" ")
        raw = _b64(b64, f"the signature by {name}")
        if len(raw) < 5:
            raise BadInput(f"the signature by {name} is too short")
        if name != key.name or raw[:4] != key.key_id:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(key.public).verify(raw[4:], text.encode())
        except InvalidSignature:
            raise BadInput(f"the signature by {key.name} does not verify: the note was altered or forged") from None
        verified = True
    if not verified:
        raise BadInput(f"the note carries no signature by the trusted key {key.name} ({key.key_id.hex()})")
    return text


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text[:-1].split("\n") if text.endswith("\n") else []
    if len(lines) < 3 or any(not line for line in lines):
        raise BadInput("a checkpoint is at least three non-empty lines: origin, tree size, root hash")
    origin, size, root = lines[:3]
    if not size.isascii() or not size.isdigit() or (size != "0" and size.startswith("0")):
        raise BadInput(f"checkpoint tree size {size!r} is not a decimal without leading zeros")
    digest = _b64(root, "the checkpoint's root hash")
    if len(digest) != 32:
        raise BadInput("the checkpoint's root hash is not 32 bytes")
    return Checkpoint(origin, int(size), digest)


def verify_checkpoint(note: str, key: VerifierKey) -> Checkpoint:
    """Signature first, then the body; a checkpoint of another log (origin) is refused."""
    checkpoint = parse_checkpoint(open_note(note, key))
    if checkpoint.origin != key.name:
        raise BadInput(f"the checkpoint is for log {checkpoint.origin!r}, not {key.name!r}")
    return checkpoint


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput(f"{what} is not valid base64") from None
