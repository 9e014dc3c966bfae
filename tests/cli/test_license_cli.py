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


def _zoo(shared_dir: Path, root: Path) -> Path:
    (root / "llama" / "sub").mkdir(parents=True)
    shutil.copy(shared_dir / "licenses" / "meta-llama" / "llama2_LICENSE.txt", root / "llama" / "LICENSE")
    shutil.copy(shared_dir / "licenses" / "model-cards" / "unsloth__Qwen3-8B-GGUF.md", root / "llama" / "README.md")
    (root / "llama" / "sub" / "LICENSE").write_bytes(b"")
    (root / "llama" / "sub" / "LICENSE.bin").write_bytes(b"\x00\x01\x02junk" * 50)
    (root / "llama" / "sub" / "model.gguf").write_bytes(b"GGUF\x03\x00")
    (root / "llama" / "sub" / "weights.bin").write_bytes(b"\x00" * 10)          # not a file a scan reads
    (root / "llama" / "sub" / "loop").symlink_to(root)                            # a symlink loop
    (root / "bad-card").mkdir()
    (root / "bad-card" / "README.md").write_text("---\nlicense: [x\n---\n")
    return root


def test_recursive_scan_prints_json_lines_and_a_summary(capsys: pytest.CaptureFixture[str], shared_dir: Path,
                                                         tmp_path: Path) -> None:
    code, out, _ = run(capsys, "--recursive", str(_zoo(shared_dir, tmp_path)), "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    files = {Path(x["path"]).relative_to(tmp_path).as_posix(): x for x in lines if "path" in x}
    assert files["llama/LICENSE"]["id"] == "llama2" and files["llama/LICENSE"]["status"] == "identified"
    assert files["llama/README.md"]["id"] == "apache-2.0"
    for bad, words in [("llama/sub/LICENSE", "empty"), ("llama/sub/LICENSE.bin", "binary"),
                       ("llama/sub/model.gguf", "GGUF"), ("bad-card/README.md", "YAML"), ("llama/sub/loop", "loop")]:
        assert words in files[bad]["error"] and "\n" not in files[bad]["error"], bad
    assert "llama/sub/weights.bin" not in files
    summary = lines[-1]["summary"]
    assert summary["files"] == len(files) and summary["errors"] == 5
    assert summary["by_family"] == {"llama2": 1, "apache-2.0": 1}
    assert code == 3          # the highest exit code of its files: the bad inputs


def test_several_paths_give_a_table_and_one_error_line_per_bad_file(capsys: pytest.CaptureFixture[str],
                                                                    shared_dir: Path, tmp_path: Path) -> None:
    zoo = _zoo(shared_dir, tmp_path)
    altered = tmp_path / "ALTERED"
    altered.write_text((shared_dir / "licenses" / "meta-llama" / "llama3_LICENSE.txt").read_text()
                       .replace("700 million", "7 billion"))
    code, out, err = run(capsys, str(zoo / "llama" / "LICENSE"), str(altered), str(zoo / "llama" / "sub" / "LICENSE"))
    rows = out.splitlines()
    assert rows[0].split()[:2] == ["llama2", "identified"] and rows[1].split()[:2] == ["llama3", "altered"]
    assert "2 files" not in out and "3 files, 1 errors" in out
    assert err.count("\n") == 1 and "empty" in err
    assert code == 21


def test_unreadable_folders_are_one_line_and_the_scan_goes_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from aperto.licenses import scan

    (tmp_path / "LICENSE").write_text("MIT")
    real_walk = scan.os.walk

    def walk(top: str, followlinks: bool, onerror: object) -> object:
        onerror(PermissionError(13, "Permission denied", str(tmp_path / "locked")))  # type: ignore[operator]
        return real_walk(top, followlinks=followlinks, onerror=onerror)

    monkeypatch.setattr(scan.os, "walk", walk)
    found = list(scan.files([tmp_path], recursive=True))
    assert (str(tmp_path / "locked"), "cannot read the folder: Permission denied") in found
    assert (str(tmp_path / "LICENSE"), "") in found


def test_license_json_has_osaid_and_mof(capsys: pytest.CaptureFixture[str], shared_dir: Path) -> None:
    card = shared_dir / "licenses" / "model-cards" / "bartowski__Meta-Llama-3.1-8B-Instruct-GGUF.md"
    _code, out, _ = run(capsys, str(card), "--json")
    openness = json.loads(out)["openness"]
    assert openness["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert openness["osaid"]["result"] == "does-not-conform" and openness["mof"]["class"] is None
