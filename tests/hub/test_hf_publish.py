"""Publishing with the unmodified huggingface_hub client (and the `hf` CLI) against a live hub."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from hubtools import APACHE_CARD, LLAMA_CARD, People, auth

hf = pytest.importorskip("huggingface_hub")
from huggingface_hub import (  # noqa: E402
    CommitOperationAdd,
    CommitOperationCopy,
    CommitOperationDelete,
    HfApi,
    constants,
    hf_hub_download,
)
from huggingface_hub.errors import (  # noqa: E402
    BadRequestError,
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

SMALL = 64 * 1024  # files above this go through LFS in these tests
WEIGHTS = os.urandom(300 * 1024 + 5)


@pytest.fixture
def lfs(people: People, monkeypatch: pytest.MonkeyPatch) -> People:
    """A hub that sends files above SMALL through LFS, and a client with Xet disabled."""
    people.hub.publish.inline_max = SMALL
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    return people


def files_of(hub, repo: str) -> dict[str, str]:
    with hub.store.read() as s:
        from aperto.store import repos as rows

        r = rows.repo_by_name(s, name=repo)
        return {f.path: f.sha256 for f in rows.files(s, commit_id=r.main)}


def test_create_upload_file_through_lfs_identifies_and_gates(lfs: People, live: str, tmp_path: Path) -> None:
    api = HfApi(endpoint=live, token=lfs.alice)
    url = api.create_repo("acme/llama-ft")
    assert url.repo_id == "acme/llama-ft"
    assert api.create_repo("acme/llama-ft", exist_ok=True).repo_id == "acme/llama-ft"
    with pytest.raises(HfHubHTTPError) as again:
        api.create_repo("acme/llama-ft")
    assert again.value.response.status_code == 409
    api.upload_file(path_or_fileobj=LLAMA_CARD.encode(), path_in_repo="README.md", repo_id="acme/llama-ft")
    info = api.upload_file(path_or_fileobj=WEIGHTS, path_in_repo="model.bin", repo_id="acme/llama-ft",
                           commit_message="weights")
    assert len(info.oid) == 40
    model = api.model_info("acme/llama-ft")
    assert model.gated == "auto" and model.card_data["license"] == "llama3.1"
    assert "license:llama3.1" in model.tags
    assert {s.rfilename: s.size for s in model.siblings} == {"README.md": len(LLAMA_CARD), "model.bin": len(WEIGHTS)}
    # the licensor reads their own bytes back; bob is gated out
    path = hf_hub_download("acme/llama-ft", "model.bin", endpoint=live, token=lfs.alice, cache_dir=tmp_path)
    assert Path(path).read_bytes() == WEIGHTS
    assert api.list_repo_commits("acme/llama-ft")[0].title == "weights"


def test_upload_folder_patterns_and_delete_patterns(lfs: People, live: str, tmp_path: Path) -> None:
    api = HfApi(endpoint=live, token=lfs.alice)
    api.create_repo("acme/tiny")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "README.md").write_text(APACHE_CARD)
    (src / "model.bin").write_bytes(WEIGHTS)
    (src / "sub" / "config.json").write_text('{"a": 1}')
    (src / "notes.txt").write_text("not uploaded")
    api.upload_folder(folder_path=src, repo_id="acme/tiny", allow_patterns=["*.md", "*.bin", "sub/*"],
                      commit_message="first")
    assert sorted(api.list_repo_files("acme/tiny")) == ["README.md", "model.bin", "sub/config.json"]
    assert HfApi(endpoint=live, token=lfs.bob).model_info("acme/tiny").gated is False
    (src / "extra.json").write_text("{}")
    api.upload_folder(folder_path=src, repo_id="acme/tiny", allow_patterns=["extra.json"],
                      delete_patterns=["sub/*"], commit_message="swap")
    assert sorted(api.list_repo_files("acme/tiny")) == ["README.md", "extra.json", "model.bin"]
    assert [c.title for c in api.list_repo_commits("acme/tiny")] == ["swap", "first"]


def test_create_commit_additions_deletions_copies(lfs: People, live: str) -> None:
    api = HfApi(endpoint=live, token=lfs.alice)
    api.create_repo("acme/ops")
    api.create_commit("acme/ops", [CommitOperationAdd("README.md", APACHE_CARD.encode()),
                                   CommitOperationAdd("w/a.bin", WEIGHTS),
                                   CommitOperationAdd("w/b.txt", b"b"),
                                   CommitOperationAdd("c.txt", b"c")], commit_message="init")
    api.create_commit("acme/ops", [CommitOperationCopy("w/a.bin", "copy/a.bin"),
                                   CommitOperationDelete("c.txt")], commit_message="copy")
    files = files_of(lfs.hub, "acme/ops")
    assert files["copy/a.bin"] == files["w/a.bin"] == hashlib.sha256(WEIGHTS).hexdigest()
    assert "c.txt" not in files
    api.delete_file("w/b.txt", "acme/ops")
    api.delete_folder("copy", "acme/ops")
    assert sorted(api.list_repo_files("acme/ops")) == ["README.md", "w/a.bin"]
    with pytest.raises(EntryNotFoundError):
        api.delete_file("nope.txt", "acme/ops")


def test_branches_tags_refs_and_revisions(lfs: People, live: str, tmp_path: Path) -> None:
    api = HfApi(endpoint=live, token=lfs.alice)
    api.create_repo("acme/refs")
    first = api.upload_file(path_or_fileobj=APACHE_CARD.encode(), path_in_repo="README.md", repo_id="acme/refs").oid
    api.create_branch("acme/refs", branch="stable")
    api.create_tag("acme/refs", tag="v1", tag_message="first release")
    api.create_branch("acme/refs", branch="stable", exist_ok=True)
    api.upload_file(path_or_fileobj=b"2", path_in_repo="two.txt", repo_id="acme/refs")
    refs = api.list_repo_refs("acme/refs")
    assert {b.name: b.target_commit for b in refs.branches}["stable"] == first
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1", first)]
    assert sorted(api.list_repo_files("acme/refs", revision="v1")) == ["README.md"]
    assert api.revision_exists("acme/refs", "stable") and not api.revision_exists("acme/refs", "nope")
    path = hf_hub_download("acme/refs", "README.md", revision="v1", endpoint=live, token=lfs.bob, cache_dir=tmp_path)
    assert Path(path).read_text() == APACHE_CARD
    api.delete_tag("acme/refs", tag="v1")
    api.delete_branch("acme/refs", branch="stable")
    assert api.list_repo_refs("acme/refs").tags == []
    with pytest.raises(RevisionNotFoundError):
        api.delete_branch("acme/refs", branch="stable")
    with pytest.raises(HfHubHTTPError):  # bob is not the licensor
        HfApi(endpoint=live, token=lfs.bob).create_tag("acme/refs", tag="mine")


def test_commits_to_a_branch_leave_main_alone(lfs: People, live: str, tmp_path: Path) -> None:
    api = HfApi(endpoint=live, token=lfs.alice)
    api.create_repo("acme/dev")
    api.upload_file(path_or_fileobj=APACHE_CARD.encode(), path_in_repo="README.md", repo_id="acme/dev")
    main = api.upload_file(path_or_fileobj=b"v1", path_in_repo="notes.txt", repo_id="acme/dev").oid
    api.create_branch("acme/dev", branch="dev")
    first = api.upload_file(path_or_fileobj=WEIGHTS, path_in_repo="model.bin", repo_id="acme/dev", revision="dev",
                            commit_message="weights on dev").oid  # through LFS
    second = api.create_commit("acme/dev", [CommitOperationAdd("notes.txt", b"v2"), CommitOperationDelete("README.md")],
                               commit_message="dev notes", revision="dev", parent_commit=first).oid
    assert api.model_info("acme/dev").sha == main
    assert sorted(api.list_repo_files("acme/dev")) == ["README.md", "notes.txt"]
    assert api.model_info("acme/dev", revision="dev").sha == second
    assert sorted(api.list_repo_files("acme/dev", revision="dev")) == ["model.bin", "notes.txt"]
    assert {f.path: f.size for f in api.list_repo_tree("acme/dev", revision="dev")} == {"model.bin": len(WEIGHTS),
                                                                                        "notes.txt": 2}
    assert [c.title for c in api.list_repo_commits("acme/dev", revision="dev")][:2] == ["dev notes", "weights on dev"]
    assert {b.name: b.target_commit for b in api.list_repo_refs("acme/dev").branches} == {"main": main, "dev": second}
    for rev, data in (("dev", b"v2"), ("main", b"v1")):
        path = hf_hub_download("acme/dev", "notes.txt", revision=rev, endpoint=live, token=lfs.alice,
                               cache_dir=tmp_path / rev)
        assert Path(path).read_bytes() == data
    with pytest.raises(HfHubHTTPError) as stale:  # dev moved on since `first`
        api.create_commit("acme/dev", [CommitOperationDelete("notes.txt")], commit_message="x", revision="dev",
                          parent_commit=first)
    assert stale.value.response.status_code == 409
    with pytest.raises(RevisionNotFoundError):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="acme/dev", revision="nope")
    api.create_tag("acme/dev", tag="v1")
    with pytest.raises(BadRequestError):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="acme/dev", revision="v1")
    assert api.model_info("acme/dev").sha == main and api.model_info("acme/dev", revision="dev").sha == second


def test_move_and_delete_repo(lfs: People, live: str) -> None:
    api = HfApi(endpoint=live, token=lfs.alice)
    api.create_repo("acme/old")
    api.upload_file(path_or_fileobj=APACHE_CARD.encode(), path_in_repo="README.md", repo_id="acme/old")
    api.move_repo("acme/old", "acme/new")
    assert not api.repo_exists("acme/old") and api.repo_exists("acme/new")
    with pytest.raises(HfHubHTTPError):  # bob may not delete alice's repo
        HfApi(endpoint=live, token=lfs.bob).delete_repo("acme/new")
    api.delete_repo("acme/new")
    assert not api.repo_exists("acme/new")
    assert "acme/new" not in [m.id for m in api.list_models()]
    api.delete_repo("acme/new", missing_ok=True)
    with pytest.raises(RepositoryNotFoundError):
        api.delete_repo("acme/new")
    api.create_repo("acme/new")  # the name is free again; the deleted repo's history is kept
    assert api.model_info("acme/new").sha is None


@pytest.fixture
def xet(people: People, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> People:
    """hf_xet installed and HF_HUB_DISABLE_XET unset, as after `pip install huggingface_hub`;
    files above SMALL are "lfs" to the client, which then uploads them through Xet."""
    pytest.importorskip("hf_xet")
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    monkeypatch.setenv("HF_XET_CACHE", str(tmp_path / "xet-cache"))
    people.hub.publish.inline_max = SMALL
    return people


def test_xet_client_uploads_large_files_with_nothing_set(xet: People, live: str, tmp_path: Path) -> None:
    api = HfApi(endpoint=live, token=xet.alice)
    api.create_repo("acme/xet")
    api.upload_file(path_or_fileobj=LLAMA_CARD.encode(), path_in_repo="README.md", repo_id="acme/xet")
    (tmp_path / "model.bin").write_bytes(WEIGHTS)  # random: stored uncompressed in its xorb
    api.upload_file(path_or_fileobj=str(tmp_path / "model.bin"), path_in_repo="model.bin", repo_id="acme/xet")
    notes = b"".join(b"line %d of a compressible file\n" % (i % 500) for i in range(20000))  # LZ4 in the xorb
    api.upload_file(path_or_fileobj=notes, path_in_repo="notes.txt", repo_id="acme/xet", commit_message="notes")
    model = api.model_info("acme/xet")
    assert model.gated == "auto" and model.card_data["license"] == "llama3.1"
    assert {s.rfilename: s.size for s in model.siblings} == {"README.md": len(LLAMA_CARD), "model.bin": len(WEIGHTS),
                                                             "notes.txt": len(notes)}
    for name, data in (("model.bin", WEIGHTS), ("notes.txt", notes)):
        path = hf_hub_download("acme/xet", name, endpoint=live, token=xet.alice, cache_dir=tmp_path / "dl")
        assert Path(path).read_bytes() == data
    assert len(list(xet.hub.blobs.uploads.glob("*.xorb"))) >= 2  # they came through Xet, not LFS
    assert api.list_repo_commits("acme/xet")[0].title == "notes"


def test_xet_tokens_and_bad_shards(xet: People, live: str) -> None:
    api = HfApi(endpoint=live, token=xet.alice)
    api.create_repo("acme/xet")
    assert httpx.get(f"{live}/api/models/acme/xet/xet-write-token/main", headers=auth(xet.bob)).status_code == 403
    assert httpx.get(f"{live}/api/models/acme/xet/xet-write-token/main").status_code == 401
    token = httpx.get(f"{live}/api/models/acme/xet/xet-write-token/main", headers=auth(xet.alice)).json()
    assert token["casUrl"] == f"{live}/xet"
    cas, bearer = token["casUrl"], {"Authorization": f"Bearer {token['accessToken']}"}
    last = token["accessToken"][-1]
    forged = {"Authorization": f"Bearer {token['accessToken'][:-1]}{'1' if last == '0' else '0'}"}
    assert httpx.post(f"{cas}/v1/shards", content=b"x" * 100, headers=forged).status_code == 401
    assert httpx.post(f"{cas}/v1/shards", content=b"x" * 100, headers=auth(xet.alice)).status_code == 401
    assert httpx.get(f"{cas}/v1/chunks/default/{'0' * 64}", headers=bearer).status_code == 404  # no global dedup
    r = httpx.post(f"{cas}/v1/shards", content=b"x" * 100, headers=bearer)
    assert r.status_code == 400 and "not an Xet shard" in r.headers["X-Error-Message"]
    # a well-formed shard naming a xorb nobody uploaded: a clear 400, nothing stored
    def packed(raw: bytes) -> bytes:  # a hash as a shard holds it: four little-endian u64
        return b"".join(raw[i:i + 8][::-1] for i in range(0, 32, 8))

    file_hash, xorb = bytes(32), bytes(range(32))
    shard = (b"HFRepoMetaData\x00" + bytes(17) + (2).to_bytes(8, "little") + bytes(8)
             + file_hash + (1 << 30).to_bytes(4, "little") + (1).to_bytes(4, "little") + bytes(8)
             + xorb + bytes(4) + (5).to_bytes(4, "little") + (0).to_bytes(4, "little") + (1).to_bytes(4, "little")
             + packed(hashlib.sha256(b"hello").digest()) + bytes(16) + b"\xff" * 32 + bytes(16))
    r = httpx.post(f"{cas}/v1/shards", content=shard, headers=bearer)
    assert r.status_code == 400 and "was not uploaded" in r.headers["X-Error-Message"]
    assert not xet.hub.blobs.has(hashlib.sha256(b"hello").hexdigest())
    # the xorb arrives (one uncompressed 5-byte chunk), and the same shard rebuilds the file
    body = bytes([0, 5, 0, 0, 0, 5, 0, 0]) + b"hello"
    xorb_hex = packed(xorb).hex()
    assert httpx.post(f"{cas}/v1/xorbs/default/{xorb_hex}", content=body, headers=bearer).json() == {
        "was_inserted": True}
    assert httpx.post(f"{cas}/v1/shards", content=shard, headers=bearer).status_code == 200
    assert xet.hub.blobs.has(hashlib.sha256(b"hello").hexdigest())
    # bob's token for his own repo does not reach alice's xorbs
    bob = xet.hub.tokens.create_token(xet.hub.tokens.authenticate(xet.admin), "bob", ["read", "publish"])
    HfApi(endpoint=live, token=bob).create_repo("bob/xet")
    theirs = httpx.get(f"{live}/api/models/bob/xet/xet-write-token/main", headers=auth(bob)).json()
    shard_bob = shard.replace(packed(hashlib.sha256(b"hello").digest()), packed(hashlib.sha256(b"hellp").digest()))
    r = httpx.post(f"{cas}/v1/shards", content=shard_bob,
                   headers={"Authorization": f"Bearer {theirs['accessToken']}"})
    assert r.status_code == 400 and "was not uploaded" in r.headers["X-Error-Message"]


def test_card_licence_contradicting_files_is_a_conflict(lfs: People, live: str) -> None:
    api = HfApi(endpoint=live, token=lfs.alice)
    api.create_repo("acme/mixed")
    apache = (Path(__file__).parents[1] / "data" / "licenses-wild" / "debian" / "Apache-2.0").read_bytes()
    api.create_commit("acme/mixed", [CommitOperationAdd("README.md", LLAMA_CARD.encode()),
                                     CommitOperationAdd("LICENSE", apache)], commit_message="mixed")
    info = httpx.get(f"{live}/api/models/acme/mixed").json()  # accepted, and shown as a conflict
    assert info["sha"] and info["aperto"]["licence_status"] == "conflict"
    assert info["cardData"]["license"] == "apache-2.0"  # the licence text governs, as for every commit


def test_bad_input_is_hf_shaped_and_writes_nothing(lfs: People, live: str) -> None:
    api = HfApi(endpoint=live, token=lfs.alice)
    api.create_repo("acme/bad")
    api.upload_file(path_or_fileobj=APACHE_CARD.encode(), path_in_repo="README.md", repo_id="acme/bad")
    main = api.model_info("acme/bad").sha
    url = f"{live}/api/models/acme/bad/commit/main"
    head = json.dumps({"key": "header", "value": {"summary": "x"}})

    def post(*lines: str) -> httpx.Response:
        return httpx.post(url, content="\n".join(lines).encode(), headers={**auth(lfs.alice),
                                                                           "Content-Type": "application/x-ndjson"})

    add = json.dumps({"key": "file", "value": {"path": "ok.txt", "content": "b2s=", "encoding": "base64"}})
    cases = {
        "not json": post(head, "{nope"),
        "no header": post(add),
        "outside": post(head, json.dumps({"key": "file", "value": {"path": "../x", "content": "eA=="}})),
        "wrong oid": post(head, add, json.dumps({"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256",
                                                                             "oid": "a" * 64, "size": 3}})),
        "bad base64": post(head, json.dumps({"key": "file", "value": {"path": "y", "content": "!!"}})),
        "unknown key": post(head, json.dumps({"key": "rmrf", "value": {}})),
    }
    for what, r in cases.items():
        assert r.status_code == 400 and r.headers.get("X-Error-Message"), (what, r.status_code, r.text)
    r = httpx.post(f"{live}/api/models/acme/bad/commit/nope", content=head.encode(), headers=auth(lfs.alice))
    assert r.status_code == 404 and r.headers["X-Error-Code"] == "RevisionNotFound"  # no such branch
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_files("acme/bad", revision="nope")
    assert api.model_info("acme/bad").sha == main  # nothing half-written
    assert api.list_repo_files("acme/bad") == ["README.md"]


def test_lfs_size_mismatch_and_resumed_put(lfs: People, live: str) -> None:
    api = HfApi(endpoint=live, token=lfs.alice)
    api.create_repo("acme/lfs")
    oid = hashlib.sha256(WEIGHTS).hexdigest()
    batch = httpx.post(f"{live}/acme/lfs.git/info/lfs/objects/batch", headers=auth(lfs.alice),
                       json={"operation": "upload", "transfers": ["basic", "multipart", "xet"],
                             "objects": [{"oid": oid, "size": len(WEIGHTS)}], "hash_algo": "sha256"}).json()
    assert batch["transfer"] == "basic"
    href = batch["objects"][0]["actions"]["upload"]["href"]
    short = httpx.put(href, content=WEIGHTS[:1000])
    assert short.status_code == 400 and "size mismatch" in short.headers["X-Error-Message"]
    assert httpx.put(href.replace("sig=", "sig=0"), content=WEIGHTS).status_code == 401
    done = httpx.put(href, content=WEIGHTS)  # the retry sends everything; the hub skips what it holds
    assert done.status_code == 200 and done.json()["complete"] is True
    again = httpx.post(f"{live}/acme/lfs.git/info/lfs/objects/batch", headers=auth(lfs.alice),
                       json={"operation": "upload", "objects": [{"oid": oid, "size": len(WEIGHTS)}]}).json()
    assert "actions" not in again["objects"][0]  # already held: nothing to send
    bob = httpx.post(f"{live}/acme/lfs.git/info/lfs/objects/batch", headers=auth(lfs.bob),
                     json={"operation": "upload", "objects": [{"oid": oid, "size": len(WEIGHTS)}]})
    assert bob.status_code == 403


def test_possession_rule_holds_for_lfs_commits(lfs: People, live: str) -> None:
    """Knowing the sha256 of a gated file (public metadata) does not let anyone commit it."""
    alice = HfApi(endpoint=live, token=lfs.alice)
    alice.create_repo("acme/gated")
    alice.create_commit("acme/gated", [CommitOperationAdd("README.md", LLAMA_CARD.encode()),
                                       CommitOperationAdd("model.bin", WEIGHTS)], commit_message="gated")
    root = lfs.hub.tokens.authenticate(lfs.admin)
    thief = lfs.hub.tokens.create_token(root, "bob", ["read", "publish"])
    api = HfApi(endpoint=live, token=thief)
    api.create_repo("bob/stolen")
    oid = hashlib.sha256(WEIGHTS).hexdigest()
    line = json.dumps({"key": "lfsFile", "value": {"path": "model.bin", "algo": "sha256", "oid": oid,
                                                  "size": len(WEIGHTS)}})
    head = json.dumps({"key": "header", "value": {"summary": "mine"}})
    r = httpx.post(f"{live}/api/models/bob/stolen/commit/main", content=f"{head}\n{line}\n".encode(),
                   headers=auth(thief))
    assert r.status_code == 409
    assert api.model_info("bob/stolen").sha is None


def test_hf_cli_repos_create_and_upload(xet: People, live: str, tmp_path: Path) -> None:
    """`hf` as installed, nothing set but the endpoint and token: the weights go through Xet."""
    cli = Path(sys.executable).with_name("hf")
    env = {**{k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_XET"}, "HF_ENDPOINT": live,
           "HF_TOKEN": xet.alice, "HF_HOME": str(tmp_path / "home"), "NO_COLOR": "1"}
    run = subprocess.run([str(cli), "repos", "create", "acme/cli"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "README.md").write_text(APACHE_CARD)
    (tmp_path / "w" / "model.bin").write_bytes(WEIGHTS)
    run = subprocess.run([str(cli), "upload", "acme/cli", str(tmp_path / "w"), ".", "--commit-message", "cli"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    info = HfApi(endpoint=live, token=xet.bob).model_info("acme/cli", files_metadata=True)
    assert info.card_data["license"] == "apache-2.0" and info.gated is False
    assert {s.rfilename: s.size for s in info.siblings} == {"README.md": len(APACHE_CARD), "model.bin": len(WEIGHTS)}
    assert list(xet.hub.blobs.uploads.glob("*.xorb"))


def test_validate_yaml_and_private_refused(lfs: People, live: str) -> None:
    r = httpx.post(f"{live}/api/validate-yaml", json={"content": "---\nlicense: [\n---\n", "repoType": "model"},
                   headers=auth(lfs.alice))
    assert r.status_code == 400 and r.headers["X-Error-Message"]
    with pytest.raises(BadRequestError):
        HfApi(endpoint=live, token=lfs.alice).create_repo("acme/secret", private=True)


def test_concurrent_uploads_all_land(lfs: People, live: str) -> None:
    """Additions merge onto the newest main, as on HF: parallel uploads do not refuse each other."""
    api = HfApi(endpoint=live, token=lfs.alice)
    api.create_repo("acme/busy")
    names = [f"f{i}.txt" for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: api.upload_file(path_or_fileobj=n.encode(), path_in_repo=n, repo_id="acme/busy"),
                      names))
    assert sorted(api.list_repo_files("acme/busy")) == names
    assert len(api.list_repo_commits("acme/busy")) == 4
