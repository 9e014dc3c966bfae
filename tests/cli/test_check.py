"""`aperto check`: the outcome, the JSON, and the exit codes CI relies on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from aperto.cli.check import EXIT_CODES, parse_count
from aperto.cli.main import cli, main
from aperto.errors import BadInput


def run(*args: str):
    return CliRunner().invoke(cli, ["check", *args])


def test_the_documented_example() -> None:
    r = run("meta-llama/Llama-2-7b-hf", "--mau", "800000000", "--affiliates-mau", "0", "--use", "commercial",
            "--country", "DE", "--train-other-models", "--json")
    body = json.loads(r.output)
    assert body["outcome"] == "prohibited" and r.exit_code == 12
    assert body["license"] == "llama2" and body["model"] == "meta-llama/Llama-2-7b-hf"
    assert {r["clause"] for r in body["reasons"] if r["outcome"] != "allowed_with_obligations"} == {"§1.b.v", "§2"}
    assert isinstance(body["obligations"], list) and body["exit_code"] == 12


@pytest.mark.parametrize(("args", "outcome"), [
    (["apache-2.0"], "allowed"),
    (["apache-2.0", "--redistribute"], "allowed_with_obligations"),
    (["meta-llama/Llama-2-7b-hf", "--mau", "700M"], "allowed_with_obligations"),
    (["meta-llama/Llama-2-7b-hf", "--mau", "600M", "--affiliates-mau", "0.2B"], "needs_licensor_grant"),
    (["Qwen/Qwen2.5-72B-Instruct", "--mau", "150,000,000"], "needs_licensor_grant"),
    (["openai/gpt-4", "--use", "research"], "prohibited"),
    (["llama-3.2-11b-vision", "--country", "de"], "prohibited"),
    (["llama-3.2-11b-vision", "--country", "US"], "allowed_with_obligations"),
    (["llama3.2", "--country", "DE", "--multimodal"], "prohibited"),
    (["cc-by-nc-4.0", "--use", "commercial"], "prohibited"),
])
def test_outcomes_and_exit_codes(args: list[str], outcome: str) -> None:
    r = run(*args, "--json")
    assert json.loads(r.output)["outcome"] == outcome
    assert r.exit_code == EXIT_CODES[outcome]


def test_exit_codes_are_distinct() -> None:
    assert sorted(EXIT_CODES.values()) == [0, 10, 11, 12]


def test_human_output_has_headline_obligations_and_clauses() -> None:
    r = run("meta-llama/Llama-3.1-8B-Instruct", "--publish-finetune", "--name", "Acme-8B")
    assert r.exit_code == 10
    first = r.output.splitlines()[0]
    assert first.startswith("ALLOWED, WITH OBLIGATIONS") and "llama3.1" in first
    assert "Obligations:" in r.output and "Rename" in r.output and "[§1.b.i]" in r.output
    assert "Reasons:" in r.output and "declared" in r.output


@pytest.mark.parametrize(("args", "code", "needle"), [
    (["no/such-model"], 4, "neither a model"),
    (["llama2", "--mau", "-5"], 3, "cannot be negative"),
    (["llama2", "--mau", "lots"], 3, "whole number"),
    (["llama2", "--country", "XX"], 3, "unknown country"),
])
def test_bad_input_is_one_line_without_traceback(args: list[str], code: int, needle: str) -> None:
    r = run(*args)
    assert r.exit_code == code
    assert needle in r.output and len(r.output.strip().splitlines()) == 1
    assert "Traceback" not in r.output


def test_through_main_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["check", "meta-llama/Llama-2-7b-hf", "--mau", "800000000", "--json"])
    assert info.value.code == 11
    assert json.loads(capsys.readouterr().out)["outcome"] == "needs_licensor_grant"
    with pytest.raises(SystemExit) as info:
        main(["check", "llama2", "--country", "ZZ"])
    assert info.value.code == 3
    assert capsys.readouterr().err.startswith("error: unknown country")


def test_a_licence_file_path(shared_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "LICENSE"
    shutil.copy(shared_dir / "licenses" / "meta-llama" / "llama2_LICENSE.txt", target)
    r = run(str(target), "--train-other-models", "--json")
    body = json.loads(r.output)
    assert body["license"] == "llama2" and body["outcome"] == "prohibited" and r.exit_code == 12
    assert "identification" in body


def test_parse_count() -> None:
    assert parse_count("800M") == 800_000_000
    assert parse_count("0.7b") == 700_000_000
    assert parse_count("1_000") == 1000
    with pytest.raises(BadInput):
        parse_count("1.5")


def test_official_ids_from_family_patterns_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    for model in ("meta-llama/Llama-2-13b-chat-hf", "meta-llama/Llama-3.1-70B"):
        try:
            main(["check", model, "--json"])
        except SystemExit:
            pass
        body = json.loads(capsys.readouterr().out)
        assert body["openness"]["model"] == model
        assert body["openness"]["osaid"]["result"] == "does-not-conform"


def test_an_unknown_model_suggests_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ex:
        main(["check", "meta-llama/Llama-3.1-80B"])
    assert ex.value.code == 4
    assert "did you mean meta-llama/Llama-3.1-8B" in capsys.readouterr().err


def test_check_json_has_the_mof_class_of_an_open_release(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        main(["check", "allenai/OLMo-7B", "--json"])
    except SystemExit:
        pass
    body = json.loads(capsys.readouterr().out)
    assert body["openness"]["mof"]["class"] == "I" and body["openness"]["osaid"]["result"] == "conforms"
