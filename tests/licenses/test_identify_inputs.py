"""identify_path on bad input and on model folders whose sources disagree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aperto.errors import BadInput, TooLarge
from aperto.licenses.identify import identify_path


def test_binary_junk(tmp_path: Path) -> None:
    path = tmp_path / "LICENSE"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(BadInput, match="looks binary"):
        identify_path(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "LICENSE"
    path.write_text("  \n\n")
    with pytest.raises(BadInput, match="is empty") as err:
        identify_path(path)
    assert err.value.exit_code == 3


def test_fifty_megabytes_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "LICENSE"
    with path.open("wb") as fh:  # sparse: costs no disk
        fh.truncate(50 * 1024 * 1024)
    with pytest.raises(TooLarge, match="too large") as err:
        identify_path(path)
    assert err.value.exit_code == 3 and err.value.hint


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        identify_path(tmp_path / "nope")


def test_folder_card_says_apache_license_is_llama2(shared_dir: Path, tmp_path: Path) -> None:
    shutil.copy(shared_dir / "licenses" / "meta-llama" / "llama2_LICENSE.txt", tmp_path / "LICENSE")
    (tmp_path / "README.md").write_text("---\nlicense: apache-2.0\n---\n# My fine-tune\n")
    found = identify_path(tmp_path)
    assert (found.status, found.id, found.governing) == ("conflict", "llama2", "LICENSE")
    assert any("full licence text governs" in n for n in found.notes)
    assert {s.id for s in found.sources} == {"llama2", "apache-2.0"}
    assert found.exit_code == 22


def test_folder_that_agrees_is_identified(shared_dir: Path, tmp_path: Path) -> None:
    shutil.copy(shared_dir / "licenses" / "meta-llama" / "llama3_3_LICENSE.txt", tmp_path / "LICENSE")
    shutil.copy(shared_dir / "licenses" / "meta-llama" / "llama3_3_USE_POLICY.md", tmp_path / "USE_POLICY.md")
    (tmp_path / "README.md").write_text("---\nlicense: llama3.3\n---\n# Model\n")
    found = identify_path(tmp_path)
    assert (found.status, found.id, found.document) == ("identified", "llama3.3", "license")
    assert found.version.startswith("3.3")


def test_empty_folder_is_unknown(tmp_path: Path) -> None:
    found = identify_path(tmp_path)
    assert found.status == "unknown" and found.exit_code == 20


def test_bundled_smollm2_folder(smollm2_path: Path) -> None:
    found = identify_path(smollm2_path.parent)
    assert (found.id, found.status) == ("apache-2.0", "identified")
    assert found.sources[0].kind == "gguf"
