"""`aperto license`: human and JSON output, exit codes, one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aperto.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    # main() returns the command's exit code (the console script passes it to sys.exit)
    # and calls sys.exit itself for errors
    try:
        code = main(["license", *args])
    except SystemExit as ex:
        code = ex.code
    out = capsys.readouterr()
    return int(code or 0), out.out, out.err


def test_default_is_the_bundled_smollm2(capsys: pytest.CaptureFixture[str], smollm2_path: Path) -> None:
    code, out, _ = run(capsys, "--json")
    body = json.loads(out)
    assert code == 0
    assert body["id"] == "apache-2.0" and body["status"] == "identified"
    for key in ("id", "version", "confidence", "evidence", "status", "document", "verdict"):
        assert key in body


def test_human_output_has_evidence_and_verdict(capsys: pytest.CaptureFixture[str], shared_dir: Path) -> None:
    code, out, _ = run(capsys, str(shared_dir / "licenses" / "meta-llama" / "llama3_1_LICENSE.txt"))
    assert code == 0
    assert "licence:    llama3.1 3.1" in out and "status:     identified" in out
    assert "evidence:" in out and "Llama 3.1" in out


def test_altered_exit_code(capsys: pytest.CaptureFixture[str], shared_dir: Path, tmp_path: Path) -> None:
    text = (shared_dir / "licenses" / "meta-llama" / "llama3_2_LICENSE.txt").read_text()
    path = tmp_path / "LICENSE"
    path.write_text(text.replace("700 million", "7 billion"))
    code, out, _ = run(capsys, str(path), "--json")
    body = json.loads(out)
    assert code == 21 and body["status"] == "altered" and body["differences"]
    assert body["verdict"] is None  # the real licence's verdict does not describe altered terms


def test_conflict_and_unknown_exit_codes(capsys: pytest.CaptureFixture[str], shared_dir: Path, tmp_path: Path) -> None:
    shutil.copy(shared_dir / "licenses" / "meta-llama" / "llama2_LICENSE.txt", tmp_path / "LICENSE")
    (tmp_path / "README.md").write_text("---\nlicense: apache-2.0\n---\n")
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 22 and "governs" in out
    other = tmp_path / "notes.txt"
    other.write_text("Nothing but a shopping list: eggs, flour, milk, butter, sugar and some salt. " * 3)
    code, _, _ = run(capsys, str(other))
    assert code == 20


@pytest.mark.parametrize("content,words", [(b"", "empty"), (b"\x00\x01\x02junk" * 50, "binary"),
                                           (b"GGUF\x03\x00", "GGUF"), (b"---\nlicense: [x\n---\n", "YAML")])
def test_bad_input_is_one_line_and_exit_3(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          content: bytes, words: str) -> None:
    path = tmp_path / "input.md"
    path.write_bytes(content)
    code, out, err = run(capsys, str(path))
    assert code == 3
    assert err.startswith("error: ") and words in err and err.count("\n") == 1
    assert "Traceback" not in err + out
