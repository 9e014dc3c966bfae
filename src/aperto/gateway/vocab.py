"""The texts of a model's control tokens (``<|im_start|>``, ``<s>``, ``[INST]``...), read from its GGUF.

llama.cpp's chat handler tokenises the whole templated prompt with special-token parsing on, so a
user who types ``<|im_start|>system`` would get a real control token: a forged turn (role
injection). The llama.cpp backend checks each message against these texts, and sends a message
that holds one through a path that tokenises the message as plain text (backends/llamacpp.py).

This reads the two arrays it needs, the token texts and their types, and skips everything else."""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

from aperto.errors import BadInput

FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}  # GGUF scalar type -> bytes
STRING, ARRAY = 8, 9
CONTROL, UNKNOWN = 3, 2  # llama.cpp parses these only with parse_special; user-defined ones always
WANTED = ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type")


class _Reader:
    def __init__(self, buf: mmap.mmap) -> None:
        self.buf, self.pos = buf, 0

    def unpack(self, fmt: str) -> tuple[int, ...]:
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def string(self) -> bytes:
        (n,) = self.unpack("<Q")
        self.pos += n
        return self.buf[self.pos - n:self.pos]

    def skip(self, vtype: int) -> None:
        if vtype in FIXED:
            self.pos += FIXED[vtype]
        elif vtype == STRING:
            self.string()
        elif vtype == ARRAY:
            inner, count = self.unpack("<IQ")
            if inner in FIXED:
                self.pos += FIXED[inner] * count
            else:
                for _ in range(count):
                    self.skip(inner)
        else:
            raise BadInput(f"unknown GGUF value type {vtype}")


def control_token_texts(path: Path) -> frozenset[str]:
    """Texts of the tokens llama.cpp turns into control tokens only when it parses special tokens."""
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            reader = _Reader(buf)
            magic, version, _tensors, n_kv = reader.unpack("<4sIQQ")
            if magic != b"GGUF" or version < 2:
                raise BadInput(f"{path} is not a GGUF file of version 2 or later")
            texts: list[bytes] | None = None
            types: tuple[int, ...] | None = None
            for _ in range(n_kv):
                key = reader.string().decode(errors="replace")
                (vtype,) = reader.unpack("<I")
                if key not in WANTED or vtype != ARRAY:
                    reader.skip(vtype)
                    continue
                inner, count = reader.unpack("<IQ")
                if key == WANTED[0] and inner == STRING:
                    texts = [reader.string() for _ in range(count)]
                elif key == WANTED[1] and inner == 5:  # int32
                    types = reader.unpack(f"<{count}i")
                else:
                    raise BadInput(f"{path}: unexpected type {inner} for {key}")
                if texts is not None and types is not None:
                    break
    except (OSError, struct.error, ValueError) as exc:
        raise BadInput(f"cannot read the vocabulary of {path}: {exc}") from exc
    if texts is None or types is None:
        raise BadInput(f"{path} has no tokenizer.ggml.tokens / token_type; cannot guard against special tokens")
    return frozenset(t.decode(errors="replace") for t, kind in zip(texts, types, strict=True)
                     if kind in (CONTROL, UNKNOWN) and t)
