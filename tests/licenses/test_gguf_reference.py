"""aperto's GGUF reader against the reference reader (the `gguf` package, from llama.cpp):
the same keys and values on the bundled SmolLM2 and on a file written with GGUFWriter that
records six base models, and identification reads all six (general.base_model.count)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aperto.bundled import smollm2_gguf
from aperto.licenses.gguf import KEEP_ARRAY, identify_gguf, read_metadata

gguf = pytest.importorskip("gguf", reason="the reference reader is a dev dependency: pip install gguf")

BASES = [f"acme/unlisted-base-{i}" for i in range(5)] + ["meta-llama/Llama-3.1-8B-Instruct"]


def reference(path: Path) -> tuple[int, int, dict[str, Any]]:
    """(version, tensor count, {key: value}) as the gguf package reads them."""
    reader = gguf.GGUFReader(path)
    values = {}
    for key, found in reader.fields.items():
        if key.startswith("GGUF."):  # the header, which the reader lists as fields too
            continue
        value = found.contents()
        values[key] = value
    return int(reader.fields["GGUF.version"].contents()), len(reader.tensors), values


def differences(path: Path) -> list[str]:
    version, tensors, expected = reference(path)
    meta = read_metadata(path)
    found = {key: v.value for key, v in meta.kv.items()}
    wrong = []
    if (meta.version, meta.tensor_count) != (version, tensors):
        wrong.append(f"header: aperto {(meta.version, meta.tensor_count)}, gguf {(version, tensors)}")
    if set(found) != set(expected):
        wrong.append(f"keys only aperto read: {sorted(set(found) - set(expected))}; "
                     f"only gguf read: {sorted(set(expected) - set(found))}")
    for key in sorted(set(found) & set(expected)):
        mine, theirs = found[key], expected[key]
        if isinstance(theirs, list) and len(theirs) > KEEP_ARRAY:
            same = isinstance(mine, dict) and mine.get("length") == len(theirs)  # aperto keeps the length
        elif isinstance(theirs, float):
            same = mine == pytest.approx(theirs)
        else:
            same = mine == theirs
        if not same:
            wrong.append(f"{key}: aperto {str(mine)[:80]}, gguf {str(theirs)[:80]}")
    return wrong


def test_the_bundled_smollm2_reads_the_same() -> None:
    path = smollm2_gguf()
    assert differences(path) == []
    assert read_metadata(path).get("general.license") == "apache-2.0"


@pytest.fixture(scope="module")
def six_bases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gguf") / "six-bases.gguf"
    writer = gguf.GGUFWriter(path, arch="llama")
    writer.add_name("A merge of six")
    writer.add_license("apache-2.0")
    writer.add_base_model_count(len(BASES))
    for i, repo in enumerate(BASES):
        writer.add_base_model_name(i, repo.split("/")[1])
        writer.add_base_model_organization(i, repo.split("/")[0])
        writer.add_base_model_repo_url(i, f"https://huggingface.co/{repo}")
    writer.add_array("tokenizer.ggml.tokens", [f"t{i}" for i in range(KEEP_ARRAY + 10)])
    writer.add_array("tokenizer.ggml.scores", [0.5, -1.25, 3.0])
    writer.add_uint32("llama.context_length", 2048)
    writer.add_float32("llama.rope.freq_base", 10000.0)
    writer.add_bool("general.experimental", True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_a_file_written_by_the_reference_writer_reads_the_same(six_bases: Path) -> None:
    assert differences(six_bases) == []
    meta = read_metadata(six_bases)
    assert meta.get("general.base_model.count") == 6
    assert meta.get("general.base_model.5.repo_url") == "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"


def test_identification_reads_every_base_model(six_bases: Path) -> None:
    """Only the sixth base model is one aperto knows; its licence must not be missed."""
    found = identify_gguf(six_bases)
    assert found.status == "conflict" and found.id == "llama3.1", (found.status, found.id, found.notes)
    assert "Llama-3.1-8B-Instruct" in (found.governing or "")
