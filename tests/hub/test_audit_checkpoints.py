"""Signed checkpoints of the audit log: cutting, altering or rewriting rows is detected; a
forged checkpoint is refused; verify refuses what does not exist and names what it checked;
the format is C2SP's, checked here by an independent reader."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, delete, select, update
from sqlalchemy import text as sql

from aperto.cli.hub import audit_cmd
from aperto.config import Settings
from aperto.errors import BadInput, Conflict, NotFound
from aperto.hub import checkpoint as cp
from aperto.hub.audit import CHECKPOINT_FILE, KEY_FILE
from aperto.hub.core import audit_hash
from aperto.hub.service import Hub
from aperto.store import audit as audit_store
from aperto.store.models import Audit, AuditCheckpoint


def make_hub(data: Path, users: int = 5) -> str:
    """A hub on ``data`` with 1 + ``users`` audit rows; returns its vkey. Closed again."""
    hub = Hub(Settings(data_dir=data, database_url=None))
    root = hub.tokens.authenticate(hub.tokens.bootstrap_admin())
    for i in range(users):
        hub.tokens.create_user(root, f"user{i}")
    vkey = hub.audit.key.vkey
    hub.close()
    return vkey


def attacker_sql(data: Path, *statements) -> None:  # noqa: ANN002
    """Someone with the database file (a copy, or the disk) edits it directly."""
    engine = create_engine(f"sqlite:///{data / 'hub.sqlite3'}")
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)
    engine.dispose()


def verify(*args: str):  # noqa: ANN201
    return CliRunner().invoke(audit_cmd, ["verify", *args])


# ---- the findings ------------------------------------------------------------------------
@pytest.mark.parametrize("also_checkpoints", [False, True], ids=["rows-only", "rows-and-their-checkpoints"])
def test_deleting_the_newest_rows_is_detected(tmp_path: Path, also_checkpoints: bool) -> None:
    data = tmp_path / "data"
    make_hub(data)  # 6 rows
    assert verify("--data-dir", str(data)).exit_code == 0
    cut = [delete(Audit).where(Audit.seq > 3)]
    if also_checkpoints:  # a careful attacker removes the checkpoints for the cut rows too
        cut.append(delete(AuditCheckpoint).where(AuditCheckpoint.size > 3))
    attacker_sql(data, *cut)
    bad = verify("--data-dir", str(data))
    assert bad.exit_code == 1
    assert "cut" in bad.output and "vouches for 6 rows" in bad.output and "only 3 are present" in bad.output
    with pytest.raises(Conflict, match="cut"):  # and the hub will not sign a shorter history
        Hub(Settings(data_dir=data, database_url=None))


def test_a_cut_is_detected_on_this_database(settings: Settings) -> None:
    """SQLite and PostgreSQL: verify by --database-url, and the hub's own verify_audit."""
    hub = Hub(settings)
    root = hub.tokens.authenticate(hub.tokens.bootstrap_admin())
    for i in range(4):
        hub.tokens.create_user(root, f"user{i}")
    args = ["--data-dir", str(settings.data_dir), "--database-url", settings.resolved_database_url()]
    ok = verify(*args)
    assert ok.exit_code == 0 and "5 rows" in ok.output and "vouched for" in ok.output
    with hub.store.write() as s:
        s.execute(delete(Audit).where(Audit.seq > 2))
        s.execute(delete(AuditCheckpoint).where(AuditCheckpoint.size > 2))
    assert "vouches for 5 rows" in hub.audit.verify_audit()["why"]
    hub.close()
    bad = verify(*args)
    assert bad.exit_code == 1 and "vouches for 5 rows but only 2 are present" in bad.output


def test_a_checkpoint_kept_elsewhere_catches_a_cut_the_data_dir_hides(tmp_path: Path) -> None:
    """The attacker holds the whole data dir and rolls the checkpoint file back too; a copy
    published earlier still shows the cut."""
    data = tmp_path / "data"
    make_hub(data, users=2)
    old = (data / CHECKPOINT_FILE).read_text()  # 3 rows
    published = tmp_path / "published.checkpoint"
    hub = Hub(Settings(data_dir=data, database_url=None))
    hub.tokens.create_user(hub.tokens.operator(), "late")
    published.write_text(hub.audit.latest_checkpoint())  # 4 rows, kept by a third party
    hub.close()
    attacker_sql(data, delete(Audit).where(Audit.seq > 3), delete(AuditCheckpoint).where(AuditCheckpoint.size > 3))
    (data / CHECKPOINT_FILE).write_text(old)
    assert verify("--data-dir", str(data)).exit_code == 0  # what the checkpoints cannot see on their own
    bad = verify("--data-dir", str(data), "--checkpoint", str(published))
    assert bad.exit_code == 1 and "vouches for 4 rows" in bad.output


def test_altering_a_row_is_detected_even_with_the_chain_recomputed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_hub(data)
    attacker_sql(data, update(Audit).where(Audit.seq == 2).values(actor="mallory"))
    bad = verify("--data-dir", str(data))
    assert bad.exit_code == 1 and "row 2 was altered" in bad.output
    # the chain is unkeyed: an attacker can re-hash it from the altered row on; the signed root still differs
    engine = create_engine(f"sqlite:///{data / 'hub.sqlite3'}")
    with engine.begin() as conn:
        prev = None
        for row in conn.execute(select(Audit).order_by(Audit.seq)).mappings().all():
            fixed = {**row, "prev_hash": prev or row["prev_hash"]}
            fixed["hash"] = audit_hash(fixed)
            conn.execute(update(Audit).where(Audit.seq == row["seq"]).values(prev_hash=fixed["prev_hash"],
                                                                            hash=fixed["hash"]))
            prev = fixed["hash"]
    engine.dispose()
    bad = verify("--data-dir", str(data))
    assert bad.exit_code == 1 and "the first 6 rows differ" in bad.output and "rewritten" in bad.output


def test_rows_appended_outside_the_hub_are_not_vouched_for(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_hub(data, users=1)
    hub = Hub(Settings(data_dir=data, database_url=None))
    with hub.store.write() as s:  # a chain-valid row, but no signature
        last = audit_store.tail(s)
        row = {"seq": 3, "actor": "mallory", "action": "user.create", "subject": "x", "before": "null",
               "after": "{}", "at": last.at, "prev_hash": last.hash}
        audit_store.add(s, row={**row, "hash": audit_hash(row)})
    hub.close()
    bad = verify("--data-dir", str(data))
    assert bad.exit_code == 1 and "rows 3 to 3 are not vouched for" in bad.output


def test_a_database_without_checkpoints_is_not_vouched_for(tmp_path: Path) -> None:
    """As a database from before checkpoints, copied without the data dir's file, reads."""
    data = tmp_path / "data"
    make_hub(data, users=2)
    attacker_sql(data, sql("DROP TABLE audit_checkpoints"))
    (data / CHECKPOINT_FILE).unlink()
    bad = verify("--data-dir", str(data))
    assert bad.exit_code == 1 and "rows 1 to 3 are not vouched for" in bad.output


def test_a_damaged_frontier_stops_signing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_hub(data, users=2)
    attacker_sql(data, update(AuditCheckpoint).where(AuditCheckpoint.size == 3).values(
        frontier=json.dumps(["00" * 32, "11" * 32])))
    with pytest.raises(Conflict, match="checkpoint for 3 rows is damaged"):  # a start signs, so it refuses
        Hub(Settings(data_dir=data, database_url=None))


def forged_note(text: str, name: str) -> str:
    return cp.sign_note(text, name, Ed25519PrivateKey.generate())


def test_forged_checkpoints_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    vkey = make_hub(data)
    key = cp.parse_vkey(vkey)
    good = (data / CHECKPOINT_FILE).read_text()
    text = good[:good.index("\n\n") + 1]
    # another key, same log name: the signature line names a key id nobody trusts
    (data / CHECKPOINT_FILE).write_text(forged_note(text, key.name))
    bad = verify("--data-dir", str(data))
    assert bad.exit_code == 1 and "no signature by the trusted key" in bad.output
    # the size changed under the real signature
    (data / CHECKPOINT_FILE).write_text(good.replace("\n6\n", "\n7\n", 1))
    bad = verify("--data-dir", str(data))
    assert bad.exit_code == 1 and "does not verify" in bad.output
    # the right checkpoint, but the operator trusts another key
    (data / CHECKPOINT_FILE).write_text(good)
    other = cp.verifier_key(key.name, Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    bad = verify("--data-dir", str(data), "--key", other.vkey)
    assert bad.exit_code == 1 and "is not valid" in bad.output
    assert verify("--data-dir", str(data), "--key", vkey).exit_code == 0


def test_verify_refuses_what_does_not_exist_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = verify("--data-dir", str(missing))
    assert result.exit_code != 0 and isinstance(result.exception, NotFound)
    assert str(missing) in str(result.exception) and not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = verify("--data-dir", str(empty))
    assert isinstance(result.exception, NotFound) and "no hub database" in str(result.exception)
    result = verify("--database-url", f"sqlite:///{tmp_path / 'no.sqlite3'}", "--data-dir", str(empty))
    assert isinstance(result.exception, NotFound) and "no.sqlite3" in str(result.exception)
    assert list(empty.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["empty"]
    for command in (["checkpoint"], ["export"], ["key"]):
        result = CliRunner().invoke(audit_cmd, [*command, "--data-dir", str(missing)])
        assert isinstance(result.exception, NotFound), command
    assert not missing.exists()


def test_verify_names_what_it_checked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    vkey = make_hub(data)
    ok = verify("--data-dir", str(data))
    assert ok.exit_code == 0
    assert f"sqlite:///{data / 'hub.sqlite3'}" in ok.output and "6 rows" in ok.output
    assert "newest 6 vouched for" in ok.output and vkey in ok.output
    as_json = json.loads(verify("--database-url", f"sqlite:///{data / 'hub.sqlite3'}", "--data-dir", str(data),
                                "--json").output)
    assert as_json["ok"] is True and as_json["rows"] == 6 and as_json["checkpoint"] == 6
    assert as_json["key"] == vkey and as_json["database"].endswith("hub.sqlite3")


# ---- signing -------------------------------------------------------------------------------
def test_the_key_is_owner_only_shared_and_each_seal_reads_only_new_rows(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    data = tmp_path / "data"
    vkey = make_hub(data, users=3)
    assert stat.S_IMODE((data / KEY_FILE).stat().st_mode) == 0o600
    hub = Hub(Settings(data_dir=data, database_url=None))
    assert hub.audit.key.vkey == vkey  # loaded, not replaced
    reads = []
    original = audit_store.rows
    monkeypatch.setattr(audit_store, "rows", lambda s, after=0, limit=None: reads.append(after) or original(
        s, after=after, limit=limit))
    hub.tokens.create_user(hub.tokens.operator(), "one-more")
    assert reads == [4]  # the seal read row 5 only: the frontier carries the rest
    assert hub.audit.verify_audit()["checkpoint"] == 5
    (data / KEY_FILE).chmod(0o644)
    with pytest.raises(Conflict, match="readable or writable by others") as refused:
        Hub(Settings(data_dir=data, database_url=None))
    assert "chmod 600" in (refused.value.hint or "")
    hub.close()


def test_api_serves_the_checkpoint_and_key_publicly_and_the_page_shows_the_key(tmp_path: Path) -> None:
    from hubtools import make_people
    from test_web import sign_in

    from aperto.hub.app import create_app

    settings = Settings(data_dir=tmp_path / "data", database_url=None)
    hub = Hub(settings)
    people = make_people(hub)
    with TestClient(create_app(settings, hub)) as client:
        key = client.get("/api/audit/key").json()
        note = client.get("/api/audit/checkpoint")
        assert note.status_code == 200 and note.headers["content-type"].startswith("text/plain")
        checked = cp.verify_checkpoint(note.text, cp.parse_vkey(key["vkey"]))
        assert checked.size == hub.audit.verify_audit()["rows"]
        sign_in(client, people.admin)
        page = client.get("/audit").text  # signing in added a row, and a checkpoint for it
        assert key["vkey"] in page and f"newest {checked.size + 1} rows are vouched for" in page
    hub.close()


# ---- the format, read by an independent reader ---------------------------------------------
def rfc6962_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, recursively, as written there."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + rfc6962_root(leaves[:k]) + rfc6962_root(leaves[k:])).digest()


def read_note(note: str, vkey: str) -> tuple[str, int, bytes]:
    """A tiny reader of a C2SP checkpoint with one Ed25519 signature, from the specs alone."""
    name, key_id_hex, material = vkey.split("+", 2)
    public = base64.b64decode(material)[1:]
    assert hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4].hex() == key_id_hex
    body, signatures = note.split("\n\n")
    text = body + "\n"
    dash, signer, blob = signatures.rstrip("\n").split(" ")
    assert dash == "\u2014" and signer == name
    raw = base64.b64decode(blob)
    assert raw[:4].hex() == key_id_hex
    Ed25519PublicKey.from_public_bytes(public).verify(raw[4:], text.encode())  # raises if forged
    origin, size, root = body.split("\n")
    return origin, int(size), base64.b64decode(root)


def test_checkpoint_is_a_c2sp_note_an_independent_reader_verifies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_hub(data)
    runner = CliRunner()
    vkey = runner.invoke(audit_cmd, ["key", "--data-dir", str(data)]).output.strip()
    exported = json.loads(runner.invoke(audit_cmd, ["checkpoint", "--data-dir", str(data), "--json"]).output)
    origin, size, root = read_note(exported["checkpoint"], vkey)
    assert origin == vkey.split("+", 2)[0] and size == exported["size"] == 6
    leaves = runner.invoke(audit_cmd, ["export", "--leaves", "--data-dir", str(data)]).output.splitlines()
    assert rfc6962_root([line.encode() for line in leaves]) == root
    # the leaf is the JCS of the stored row: for these ASCII keys, sorted compact JSON
    first = json.loads(leaves[0])
    assert leaves[0] == json.dumps(first, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert set(first) == set(cp.LEAF_FIELDS) and isinstance(first["after"], str)


def test_signed_note_spec_example_verifies() -> None:
    """The example from C2SP signed-note: our reader accepts it and rejects an altered text."""
    key = cp.parse_vkey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
    sig = "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
    assert cp.open_note("This is an example message.\n\n" + sig, key) == "This is an example message.\n"
    with pytest.raises(BadInput, match="does not verify"):
        cp.open_note("This is an example message!\n\n" + sig, key)
    with pytest.raises(BadInput, match="id"):
        cp.parse_vkey("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")


def test_merkle_frontier_matches_rfc6962_at_every_size() -> None:
    tree = cp.Tree()
    leaves = []
    assert tree.root().hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for i in range(40):
        leaves.append(f"leaf {i}".encode())
        tree.append(leaves[-1])
        assert tree.root() == rfc6962_root(leaves), i
        tree = cp.Tree(tree.size, list(tree.frontier))  # as stored and reloaded
    with pytest.raises(BadInput, match="frontier"):
        cp.Tree(5, [b"\x00" * 32])


def test_jcs_vectors() -> None:
    # RFC 8785 section 3.2.3: keys sorted by UTF-16 code units (U+1F600 sorts before U+FB33)
    keys = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    out = cp.jcs({k: 0 for k in keys}).decode()
    assert [k for k in json.loads(out)] == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert cp.jcs({"b": [1, -2, True, None], "a": 'q"\\\b\f\n\r\t\x1f\x7f\u20ac'}) == (
        b'{"a":"q\\"\\\\\\b\\f\\n\\r\\t\\u001f\x7f\xe2\x82\xac","b":[1,-2,true,null]}')
    for bad in (1.5, 2**53, {1: "x"}, "\ud800"):
        with pytest.raises(BadInput):
            cp.jcs(bad)


def test_malformed_checkpoints_name_the_problem() -> None:
    private = Ed25519PrivateKey.generate()
    key = cp.verifier_key("aperto.test/log", private.public_key().public_bytes_raw())
    root = b"\x00" * 32
    for text, problem in ((cp.checkpoint_text(key.name, 1, root).replace("\n1\n", "\n01\n"), "leading zeros"),
                          (f"{key.name}\n1\n", "three non-empty lines"),
                          (f"{key.name}\n1\nAAAA\n", "32 bytes"),
                          (cp.checkpoint_text("another/log", 1, root), "not 'aperto.test/log'")):
        with pytest.raises(BadInput, match=problem):
            cp.verify_checkpoint(cp.sign_note(text, key.name, private), key)
    with pytest.raises(BadInput, match="control"):
        cp.open_note("a\x00\n\n\u2014 x AAAA\n", key)
    with pytest.raises(BadInput, match="no blank line"):
        cp.open_note("a\n", key)
