"""One token resolver for every command that talks to a hub or gateway (--token, APERTO_TOKEN,
HF_TOKEN, the stored login, in that order); `aperto login`, `logout` and `whoami`; a missing
scope named with the command that fixes it."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from aperto.cli import auth
from aperto.cli.main import cli, main
from aperto.errors import BadInput, Forbidden, InvalidToken, Unauthorized

Hub = tuple[str, Path, dict[str, str]]


def run(argv: list[str], capsys: pytest.CaptureFixture[str], stdin: str | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return int(code or 0), out.out, out.err


def test_the_order_is_flag_then_aperto_token_then_hf_token_then_the_login(monkeypatch: pytest.MonkeyPatch) -> None:
    assert auth.resolve(None) == auth.Token(None, "none")
    path = auth.save("stored")
    assert auth.resolve(None) == auth.Token("stored", f"login {path}")
    monkeypatch.setenv("HF_TOKEN", "hf")
    assert auth.resolve(None) == auth.Token("hf", "HF_TOKEN")
    monkeypatch.setenv("APERTO_TOKEN", "ap")
    assert auth.resolve(None) == auth.Token("ap", "APERTO_TOKEN")
    assert auth.resolve("flag") == auth.Token("flag", "--token")
    monkeypatch.setenv("APERTO_TOKEN", "  ")  # blank counts as unset
    assert auth.resolve(None).source == "HF_TOKEN"


def test_the_login_lives_in_the_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert auth.token_path() == tmp_path / "config" / "aperto" / "token"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unusable in ("", "relative/dir"):  # the XDG spec: only an absolute path counts
        monkeypatch.setenv("XDG_CONFIG_HOME", unusable)
        assert auth.token_path() == tmp_path / "home" / ".config" / "aperto" / "token"


def test_the_login_is_owner_only_and_replaced_whole(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "aperto"
    folder.mkdir(parents=True, mode=0o755)  # a loose folder that already exists is tightened
    path = auth.save("first")
    path = auth.save("second")
    assert path.read_text() == "second\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert [p.name for p in folder.iterdir()] == ["token"]  # no temp file left behind


def test_login_whoami_logout(live_hub: Hub, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    url, _, tokens = live_hub
    code, out, err = run(["login", "--hub", url, "--token", "-"], capsys, tokens["bob"] + "\n", monkeypatch)
    assert code == 0, err
    assert "logged in" in out and "bob" in out and tokens["bob"] not in out + err
    assert auth.stored() == tokens["bob"]

    code, out, _ = run(["whoami", "--hub", url], capsys)
    assert code == 0 and out.startswith("bob") and f"token from: login {auth.token_path()}" in out
    monkeypatch.setenv("HF_TOKEN", tokens["admin"])
    code, out, _ = run(["whoami", "--hub", url, "--json"], capsys)
    body = json.loads(out)
    assert body["user"] == "admin" and body["token_source"] == "HF_TOKEN" and "admin" in body["scopes"]
    assert tokens["admin"] not in out

    monkeypatch.delenv("HF_TOKEN")
    code, out, _ = run(["logout"], capsys)
    assert code == 0 and "removed" in out and not auth.token_path().exists()
    code, _, err = run(["whoami", "--hub", url], capsys)
    assert code == Unauthorized.exit_code and "aperto login" in err and len(err.strip().splitlines()) == 1
    code, out, _ = run(["logout"], capsys)
    assert code == 0 and "not logged in" in out


def test_login_asks_with_the_input_hidden(live_hub: Hub) -> None:
    url, _, tokens = live_hub
    result = CliRunner().invoke(cli, ["login", "--hub", url], input=tokens["bob"] + "\n")
    assert result.exit_code == 0, result.output
    assert "Token (input hidden)" in result.output and tokens["bob"] not in result.output
    assert auth.stored() == tokens["bob"]


def test_login_refuses_a_bad_token_and_a_token_in_argv(live_hub: Hub, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    url, _, tokens = live_hub
    code, _, err = run(["login", "--hub", url, "--token", "-"], capsys, "nonsense\n", monkeypatch)
    assert code == InvalidToken.exit_code and "401" in err and not auth.token_path().exists()
    code, _, err = run(["login", "--hub", url, "--token", tokens["bob"]], capsys)
    assert code == BadInput.exit_code and "--token -" in err and tokens["bob"] not in err
    assert not auth.token_path().exists()
    code, _, err = run(["login", "--hub", url, "--token", "-"], capsys, "\n", monkeypatch)
    assert code == BadInput.exit_code and "no token given" in err


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "README.md").write_text("---\nlicense: apache-2.0\n---\n# Tiny\n")
    return tmp_path / "model"


def test_publish_and_kill_use_the_stored_login_and_hf_token(live_hub: Hub, folder: Path,
                                                            capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    url, _, tokens = live_hub
    code, _, err = run(["kill", "--hub-url", url, "--reason", "x"], capsys)
    assert code == Unauthorized.exit_code and "aperto login" in err and "HF_TOKEN" in err
    auth.save(tokens["admin"])
    code, out, err = run(["publish", str(folder), "--repo", "acme/tiny", "--hub", url, "--json"], capsys)
    assert code == 0 and json.loads(out)["commit"], err
    monkeypatch.setenv("HF_TOKEN", tokens["bob"])  # HF_TOKEN comes before the stored login
    code, _, err = run(["kill", "--hub-url", url, "--reason", "x"], capsys)
    assert code == Forbidden.exit_code, err
    code, out, err = run(["kill", "--hub-url", url, "--reason", "x", "--token", tokens["admin"], "--json"], capsys)
    assert code == 0 and isinstance(json.loads(out), dict), err


def test_a_missing_scope_is_named_with_the_command_that_fixes_it(live_hub: Hub, folder: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    url, _, tokens = live_hub
    code, _, err = run(["publish", str(folder), "--repo", "acme/tiny", "--hub", url, "--token", tokens["bob"]],
                       capsys)
    assert code == Forbidden.exit_code and len(err.strip().splitlines()) == 1, err
    assert "lacks the 'publish' scope" in err and "aperto token create USER --scopes publish" in err
