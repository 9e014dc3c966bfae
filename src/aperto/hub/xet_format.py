"""Reading what an Xet client uploads (huggingface_hub with hf_xet): xorbs (a file's chunks,
each LZ4-compressed or not) and shards (which chunk ranges of which xorbs make each file,
with the file's sha256). Pure: bytes in, bytes out. The format is Hugging Face's published
Xet protocol; the hub only rebuilds files from it, and their sha256 is the check that counts.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

import lz4.frame

from aperto.errors import BadInput

# the protocol's 64 MiB of chunks per xorb, plus room for their 8-byte headers (and a footer)
XORB_MAX = 68 * 1024 * 1024
CHUNK_MAX = 128 * 1024  # and on one chunk, uncompressed
SHARD_TAG = b"HFRepoMetaData\x00"  # how a shard's 32-byte header tag starts
SHARD_VERSION = 2
ENTRY = 48  # every record of a shard's file section is 48 bytes
BOOKEND = b"\xff" * 32
WITH_VERIFICATION = 1 << 31
WITH_METADATA = 1 << 30


def hash_hex(raw: bytes) -> str:
    """A 32-byte hash as the API writes it: four little-endian u64, each as 16 hex digits
    (the shard stores a file's sha256 the same way)."""
    return "".join(raw[i:i + 8][::-1].hex() for i in range(0, 32, 8))


@dataclass(frozen=True)
class Segment:
    xorb: str  # hash, as hash_hex writes it
    size: int  # bytes once unpacked
    start: int  # chunk range [start, end) within the xorb
    end: int


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    segments: tuple[Segment, ...]

    @property
    def size(self) -> int:
        return sum(s.size for s in self.segments)


def parse_shard(data: bytes, max_files: int = 10_000) -> list[FileEntry]:
    """The files a shard describes (its xorb listing is not needed to rebuild them)."""
    if len(data) < ENTRY or not data.startswith(SHARD_TAG):
        raise BadInput("the body is not an Xet shard (its header tag is missing)")
    (version,) = struct.unpack_from("<Q", data, 32)
    if version != SHARD_VERSION:
        raise BadInput(f"Xet shard version {version} is not supported (only {SHARD_VERSION})",
                       hint="upgrade hf_xet, or set HF_HUB_DISABLE_XET=1 to upload through Git LFS")
    files: list[FileEntry] = []
    at = ENTRY
    while True:
        record = _record(data, at)
        if record[:32] == BOOKEND:
            return files
        flags, count = struct.unpack_from("<II", record, 32)
        if len(files) >= max_files or count > (len(data) - at) // ENTRY:
            raise BadInput("the Xet shard lists more files or segments than it holds")
        at += ENTRY
        segments = []
        for _ in range(count):
            entry = _record(data, at)
            size, start, end = struct.unpack_from("<III", entry, 36)
            if end <= start or size == 0:
                raise BadInput("an Xet shard segment has an empty chunk range")
            segments.append(Segment(hash_hex(entry[:32]), size, start, end))
            at += ENTRY
        if flags & WITH_VERIFICATION:
            at += count * ENTRY
        if not flags & WITH_METADATA:
            raise BadInput("an Xet shard file has no sha256 (metadata extension)",
                           hint="upgrade hf_xet, or set HF_HUB_DISABLE_XET=1 to upload through Git LFS")
        files.append(FileEntry(hash_hex(_record(data, at)[:32]), tuple(segments)))
        at += ENTRY


def _record(data: bytes, at: int) -> bytes:
    if at + ENTRY > len(data):
        raise BadInput("the Xet shard ends before its file section does")
    return data[at:at + ENTRY]


def chunks(xorb: bytes, start: int, end: int) -> Iterator[bytes]:
    """The unpacked chunks [start, end) of a serialized xorb."""
    at = index = 0
    while index < end:
        if at + 8 > len(xorb):
            raise BadInput(f"the xorb holds fewer than {end} chunks")
        version, packed, scheme, size = xorb[at], _u24(xorb, at + 1), xorb[at + 4], _u24(xorb, at + 5)
        body = xorb[at + 8:at + 8 + packed]
        if version != 0 or len(body) != packed or size > CHUNK_MAX:
            raise BadInput(f"xorb chunk {index} has a malformed header")
        if index >= start:
            out = unpack(body, scheme, size)
            if len(out) != size:
                raise BadInput(f"xorb chunk {index} unpacks to {len(out)} bytes, not {size}")
            yield out
        at += 8 + packed
        index += 1


def _u24(data: bytes, at: int) -> int:
    return data[at] | data[at + 1] << 8 | data[at + 2] << 16


def unpack(body: bytes, scheme: int, size: int) -> bytes:
    if scheme == 0:
        return body
    if scheme not in (1, 2):
        raise BadInput(f"xorb chunk compression {scheme} is not supported (none, LZ4 and grouped LZ4 are)")
    try:  # one byte past the declared size is enough to tell a lie from the truth, and bounds a bomb
        data = lz4.frame.LZ4FrameDecompressor().decompress(body, max_length=size + 1)
    except RuntimeError:
        raise BadInput("an xorb chunk is not valid LZ4") from None
    return data if scheme == 1 else ungroup4(data)


def ungroup4(data: bytes) -> bytes:
    """Undo byte grouping: the bytes were sorted into four runs by their position modulo 4."""
    n = len(data)
    out = bytearray(n)
    at = 0
    for k in range(4):
        take = n // 4 + (1 if k < n % 4 else 0)
        out[k::4] = data[at:at + take]
        at += take
    return bytes(out)
