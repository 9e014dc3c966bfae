"""The pure GGUF metadata reader: every value type, arrays, the real SmolLM2 file, broken files."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from aperto.errors import BadInput
from aperto.licenses.gguf import read_metadata
from aperto.licenses.identify import identify_path


def _s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _kv(key: str, vtype: int, payload: bytes) -> bytes:
    return _s(key) + struct.pack("<I", vtype) + payload


def write_gguf(path: Path, kvs: list[bytes], version: int = 3) -> Path:
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", version, 0, len(kvs)) + b"".join(kvs) + b"\x00" * 64)
    return path


ALL_TYPES = [
    _kv("u8", 0, struct.pack("<B", 200)), _kv("i8", 1, struct.pack("<b", -5)),
    _kv("u16", 2, struct.pack("<H", 60000)), _kv("i16", 3, struct.pack("<h", -300)),
    _kv("u32", 4, struct.pack("<I", 4_000_000_000)), _kv("i32", 5, struct.pack("<i", -70000)),
    _kv("f32", 6, struct.pack("<f", 0.5)), _kv("bool", 7, struct.pack("<?", True)),
    _kv("general.license", 8, _s("llama3.1")),
    _kv("arr", 9, struct.pack("<IQ", 4, 3) + struct.pack("<3I", 1, 2, 3)),
    _kv("strs", 9, struct.pack("<IQ", 8, 2) + _s("a") + _s("bé")),
    _kv("nested", 9, struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 5, 2) + struct.pack("<2i", -1, 1)),
    _kv("big", 9, struct.pack("<IQ", 5, 1000) + b"\x00" * 4000),
    _kv("u64", 10, struct.pack("<Q", 2**63)), _kv("i64", 11, struct.pack("<q", -(2**40))),
    _kv("f64", 12, struct.pack("<d", 1.25)),
]


def test_reads_every_value_type(tmp_path: Path) -> None:
    meta = read_metadata(write_gguf(tmp_path / "m.gguf", ALL_TYPES))
    assert meta.version == 3
    got = {k: v.value for k, v in meta.kv.items()}
    assert got["u8"] == 200 and got["i8"] == -5 and got["u16"] == 60000 and got["i16"] == -300
    assert got["u32"] == 4_000_000_000 and got["i32"] == -70000 and got["f32"] == 0.5 and got["bool"] is True
    assert got["u64"] == 2**63 and got["i64"] == -(2**40) and got["f64"] == 1.25
    assert got["arr"] == [1, 2, 3] and got["strs"] == ["a", "bé"] and got["nested"] == [[-1, 1]]
    assert got["big"] == {"array_of": 5, "length": 1000}
    assert got["general.license"] == "llama3.1"


def test_licence_evidence_is_the_byte_range_in_the_file(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", ALL_TYPES)
    found = identify_path(path)
    assert (found.id, found.status, found.kind) == ("llama3.1", "identified", "gguf")
    ev = found.evidence[0]
    assert path.read_bytes()[ev.start:ev.end] == b"llama3.1"


def test_real_smollm2_metadata(smollm2_path: Path) -> None:
    meta = read_metadata(smollm2_path)
    assert meta.get("general.license") == "apache-2.0"
    assert meta.get("general.architecture") == "llama"
    assert meta.tensor_count > 0
    tokens = meta.get("tokenizer.ggml.tokens")
    assert isinstance(tokens, dict) and tokens["length"] > 1000


@pytest.mark.parametrize("cut", [3, 10, 30, 120])
def test_truncated_gguf_is_bad_input(tmp_path: Path, cut: int) -> None:
    full = write_gguf(tmp_path / "full.gguf", ALL_TYPES).read_bytes()
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(full[:cut])
    with pytest.raises(BadInput) as err:
        identify_path(broken)
    assert "GGUF" in err.value.message


def test_bad_version_and_lying_lengths_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="version 7"):
        read_metadata(write_gguf(tmp_path / "v7.gguf", ALL_TYPES, version=7))
    lying = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**40) + b"x"
    (tmp_path / "lie.gguf").write_bytes(lying)
    with pytest.raises(BadInput, match="claims"):
        read_metadata(tmp_path / "lie.gguf")


def test_gguf_without_licence_is_unknown(tmp_path: Path) -> None:
    found = identify_path(write_gguf(tmp_path / "x.gguf", [_kv("general.name", 8, _s("x"))]))
    assert found.status == "unknown" and found.id is None


def test_gguf_declaration_against_its_base_model_is_a_conflict(tmp_path: Path) -> None:
    kvs = [_kv("general.license", 8, _s("apache-2.0")),
           _kv("general.base_model.count", 4, struct.pack("<I", 1)),
           _kv("general.base_model.0.name", 8, _s("Llama 3.2 1B Instruct")),
           _kv("general.base_model.0.repo_url", 8, _s("https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct"))]
    found = identify_path(write_gguf(tmp_path / "q.gguf", kvs))
    assert (found.status, found.id) == ("conflict", "llama3.2")
    assert [s.id for s in found.sources] == ["apache-2.0", "llama3.2"]
