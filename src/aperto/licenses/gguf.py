"""A small, pure reader for GGUF metadata (header and key/value pairs).

It reads the header and every KV pair, of every value type including nested
arrays, and stops before the tensor infos and tensor data, so a multi-GB model
costs a few hundred kB of reads. Large arrays (the tokenizer's vocabulary)
are skipped over, keeping only their length.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from aperto.errors import BadInput

MAGIC = b"GGUF"
MAX_STRING = 16 * 1024 * 1024      # longer than any sane metadata string
MAX_KV = 1_000_000
KEEP_ARRAY = 64                     # arrays longer than this keep only their length

# type id -> struct format of a scalar
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9
LICENSE_KEYS = ("general.license", "general.license.name", "general.license.link")


@dataclass
class Value:
    value: Any
    offset: int = 0          # byte offset of the value in the file (strings: of their bytes)
    length: int = 0


@dataclass
class Metadata:
    version: int
    tensor_count: int
    kv: dict[str, Value] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        v = self.kv.get(key)
        return v.value if v else None


class _Reader:
    def __init__(self, fh: BinaryIO, size: int, name: str) -> None:
        self.fh, self.size, self.name = fh, size, name

    def _bytes(self, n: int) -> bytes:
        data = self.fh.read(n)
        if len(data) != n:
            raise BadInput(f"broken GGUF {self.name}: the file ends inside its metadata",
                           hint="the download is probably incomplete; fetch the file again")
        return data

    def scalar(self, fmt: str) -> Any:
        return struct.unpack(fmt, self._bytes(struct.calcsize(fmt)))[0]

    def string(self) -> Value:
        n = self.scalar("<Q")
        if n > MAX_STRING or self.fh.tell() + n > self.size:
            raise BadInput(f"broken GGUF {self.name}: a metadata string claims {n} bytes",
                           hint="the file is corrupt or not a GGUF file; fetch it again")
        offset = self.fh.tell()
        raw = self._bytes(n)
        return Value(raw.decode("utf-8", errors="replace"), offset, n)

    def value(self, vtype: int, depth: int = 0) -> Value:
        offset = self.fh.tell()
        if vtype in _SCALARS:
            return Value(self.scalar(_SCALARS[vtype]), offset, struct.calcsize(_SCALARS[vtype]))
        if vtype == STRING:
            return self.string()
        if vtype == ARRAY and depth < 4:
            item_type = self.scalar("<I")
            count = self.scalar("<Q")
            if count > self.size:
                raise BadInput(f"broken GGUF {self.name}: an array claims {count} items",
                               hint="the file is corrupt or not a GGUF file; fetch it again")
            if item_type in _SCALARS and count > KEEP_ARRAY:
                self.fh.seek(count * struct.calcsize(_SCALARS[item_type]), 1)
                return Value({"array_of": item_type, "length": count}, offset)
            items = [self.value(item_type, depth + 1).value for _ in range(count)]
            if count > KEEP_ARRAY:
                return Value({"array_of": item_type, "length": count}, offset)
            return Value(items, offset)
        raise BadInput(f"broken GGUF {self.name}: unknown metadata value type {vtype}",
                       hint="the file is corrupt or from an unsupported GGUF version")


def read_metadata(path: Path) -> Metadata:
    """The header and all KV pairs of a GGUF file (GGUF v2 and v3)."""
    try:
        size = path.stat().st_size
        fh = path.open("rb")
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}", hint="check the path") from None
    with fh:
        if fh.read(4) != MAGIC:
            raise BadInput(f"{path.name} is not a GGUF file (no GGUF magic bytes)",
                           hint="pass a .gguf model file, or the model folder")
        r = _Reader(fh, size, path.name)
        version = r.scalar("<I")
        if version not in (2, 3):
            raise BadInput(f"broken GGUF {path.name}: unsupported GGUF version {version}",
                           hint="only GGUF v2 and v3 are read; re-convert the model with a current llama.cpp")
        tensor_count = r.scalar("<Q")
        kv_count = r.scalar("<Q")
        if kv_count > MAX_KV:
            raise BadInput(f"broken GGUF {path.name}: it claims {kv_count} metadata entries",
                           hint="the file is corrupt; fetch it again")
        meta = Metadata(version, tensor_count)
        for _ in range(kv_count):
            key = r.string().value
            vtype = r.scalar("<I")
            meta.kv[key] = r.value(vtype)
        return meta


def identify_gguf(path: Path) -> Any:
    """Identification from a GGUF file's licence metadata (a declaration, not a licence text)."""
    from aperto.licenses import lineage
    from aperto.licenses.cards import declaration, known_ids
    from aperto.licenses.identify import CONFLICT, IDENTIFIED, Identification

    meta = read_metadata(path)
    raw = meta.kv.get("general.license")
    name = meta.kv.get("general.license.name")
    link = meta.kv.get("general.license.link")
    found: Identification = declaration(
        value=raw.value if raw else None, name=name.value if name else None, link=link.value if link else None,
        source=path.name, kind="gguf",
        spans=[(k, v) for k, v in (("general.license", raw), ("general.license.name", name)) if v],
    )
    # newer converters record the base model(s): the relicensing table decides whether a declaration may differ
    count = meta.get("general.base_model.count")  # as many as the file says (bounded by its entries)
    count = min(count, len(meta.kv)) if isinstance(count, int) else 0
    names = [meta.get(f"general.base_model.{i}.{f}") for i in range(count) for f in ("repo_url", "name")]
    resolved = [(n, *lineage.licence_of(n)) for n in names if isinstance(n, str)]
    base_name, base_id, _how = next((r for r in resolved if r[1]), ("", None, ""))
    if base_id:
        where = f"GGUF general.base_model {base_name}"
        base = Identification(base_id, status=IDENTIFIED, confidence=0.6, source=where, kind="base-model")
        _kind, relicense, why = lineage.rule(base_id)
        if found.id and found.id != base_id and found.id in known_ids() and not relicense:
            found.sources = [Identification(found.id, status=found.status, confidence=found.confidence,
                                            source=path.name, kind="gguf", evidence=list(found.evidence)), base]
            found.status, found.id, found.governing = CONFLICT, base_id, where
            found.notes.append(f"general.license says {found.sources[0].id} but {where} is under {base_id}, "
                               f"which {why}")
        else:
            found.notes.append(f"{where} is under {base_id}, which {why}")
    return found
