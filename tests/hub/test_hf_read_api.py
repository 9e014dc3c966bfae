"""The read API with the unmodified huggingface_hub client against a live hub."""

from __future__ import annotations

import os

import httpx
import pytest
from hubtools import APACHE_CARD, LLAMA_CARD, People, auth, publish

hf = pytest.importorskip("huggingface_hub")
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download  # noqa: E402
from huggingface_hub.errors import EntryNotFoundError, GatedRepoError, RevisionNotFoundError  # noqa: E402
from huggingface_hub.hf_api import RepoFile, RepoFolder  # noqa: E402

WEIGHTS = os.urandom(2048)
RICH_CARD = ("\n  \n---\nlicense: apache-2.0\ntags:\n- text-generation\n- tiny\nlibrary_name: transformers\n"
             "pipeline_tag: text-generation\ndatasets:\n- acme/data\n---\n# Rich\n")


@pytest.fixture
def repos(people: People) -> People:
    hub = people.hub
    publish(hub, people.alice, "acme/rich", {"README.md": RICH_CARD.encode(), "model.bin": WEIGHTS,
                                             "sub/deep/config.json": b"{}", "sub/tok.json": b"[]"}, message="one")
    publish(hub, people.alice, "acme/rich", {"extra.txt": b"x"}, message="two\n\nmore words")
    publish(hub, people.alice, "acme/llama", {"README.md": LLAMA_CARD.encode(), "model.bin": WEIGHTS},
            gating="manual")
    root = hub.tokens.authenticate(people.admin)
    hub.tokens.create_user(root, "carol")
    carol = hub.tokens.create_token(root, "carol", ["read", "publish"])
    publish(hub, carol, "carol/other", {"README.md": APACHE_CARD.encode()})
    return people


def test_list_models_filters(repos: People, live: str) -> None:
    api = HfApi(endpoint=live, token=repos.bob)
    ids = lambda models: [m.id for m in models]  # noqa: E731
    assert sorted(ids(api.list_models())) == ["acme/llama", "acme/rich", "carol/other"]
    assert ids(api.list_models(search="lla")) == ["acme/llama"]
    assert sorted(ids(api.list_models(author="acme"))) == ["acme/llama", "acme/rich"]
    assert ids(api.list_models(filter="license:llama3.1")) == ["acme/llama"]
    assert ids(api.list_models(filter=["text-generation", "tiny"])) == ["acme/rich"]
    assert ids(api.list_models(sort="last_modified", limit=1)) == ["carol/other"]  # newest first
    assert ids(api.list_models(sort="created_at", limit=2)) == ["carol/other", "acme/llama"]
    oldest = httpx.get(f"{live}/api/models", params={"sort": "createdAt", "direction": 1, "limit": 1}).json()
    assert [m["id"] for m in oldest] == ["acme/rich"]  # the client sends no direction; others may
    assert httpx.get(f"{live}/api/models", params={"sort": "bogus"}).status_code == 400
    full = {m.id: m for m in api.list_models(full=True, cardData=True)}
    assert {s.rfilename for s in full["acme/rich"].siblings} >= {"model.bin", "extra.txt"}
    assert full["acme/rich"].card_data["library_name"] == "transformers"
    assert full["acme/llama"].gated == "manual"


def test_model_info_full(repos: People, live: str) -> None:
    info = HfApi(endpoint=live, token=repos.bob).model_info("acme/rich")
    assert info.card_data["tags"] == ["text-generation", "tiny"] and info.card_data["datasets"] == ["acme/data"]
    assert info.library_name == "transformers" and info.pipeline_tag == "text-generation"
    assert {s.rfilename: s.size for s in info.siblings}["model.bin"] == len(WEIGHTS)
    assert info.last_modified is not None and info.private is False and info.disabled is False
    assert info.gated is False


def test_paths_info_tree_commits_refs(repos: People, live: str) -> None:
    api = HfApi(endpoint=live, token=repos.bob)
    paths = api.get_paths_info("acme/rich", ["model.bin", "sub", "missing"], expand=True)
    assert [type(p) for p in paths] == [RepoFile, RepoFolder]
    assert paths[0].size == len(WEIGHTS) and paths[0].last_commit.title == "one"
    top = sorted(e.path for e in api.list_repo_tree("acme/rich"))
    assert top == ["README.md", "extra.txt", "model.bin", "sub"]
    deep = sorted(e.path for e in api.list_repo_tree("acme/rich", recursive=True))
    assert deep == ["README.md", "extra.txt", "model.bin", "sub", "sub/deep", "sub/deep/config.json", "sub/tok.json"]
    assert sorted(e.path for e in api.list_repo_tree("acme/rich", path_in_repo="sub")) == ["sub/deep", "sub/tok.json"]
    expanded = {e.path: e for e in api.list_repo_tree("acme/rich", expand=True)}
    assert expanded["extra.txt"].last_commit.title == "two"
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree("acme/rich", path_in_repo="nope"))
    commits = api.list_repo_commits("acme/rich")
    assert [c.title for c in commits] == ["two", "one"] and commits[0].authors == ["alice"]
    assert commits[0].message == "more words"
    refs = api.list_repo_refs("acme/rich")
    assert [(b.name, b.target_commit) for b in refs.branches] == [("main", commits[0].commit_id)]
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_commits("acme/rich", revision="nope")


def test_exists_helpers(repos: People, live: str) -> None:
    api = HfApi(endpoint=live, token=repos.bob)
    assert api.repo_exists("acme/rich") and not api.repo_exists("acme/none")
    assert api.file_exists("acme/rich", "sub/tok.json") and not api.file_exists("acme/rich", "nope.txt")
    assert api.revision_exists("acme/rich", "main") and not api.revision_exists("acme/rich", "v9")
    with pytest.raises(GatedRepoError):  # as on HF: asking about a gated repo's bytes says it is gated
        api.file_exists("acme/llama", "model.bin")


def test_hf_file_system(repos: People, live: str) -> None:
    fs = HfFileSystem(endpoint=live, token=repos.bob)
    assert sorted(fs.ls("acme/rich", detail=False)) == ["acme/rich/README.md", "acme/rich/extra.txt",
                                                        "acme/rich/model.bin", "acme/rich/sub"]
    assert fs.isdir("acme/rich/sub") and fs.isfile("acme/rich/sub/tok.json")
    assert sorted(fs.glob("acme/rich/**/*.json")) == ["acme/rich/sub/deep/config.json", "acme/rich/sub/tok.json"]
    assert fs.read_bytes("acme/rich/model.bin") == WEIGHTS
    assert fs.info("acme/rich/model.bin")["size"] == len(WEIGHTS)
    with pytest.raises(Exception):  # gated bytes never leak through the file system either  # noqa: B017
        fs.read_bytes("acme/llama/model.bin")


ASKING_CARD = ("---\nlicense: llama3.1\nextra_gated_prompt: Share your details to use this model.\n"
               "extra_gated_fields:\n  Company: text\n  I agree to the use policy: checkbox\n---\n# Asks\n")


def test_access_request_parity(people: People, live: str, tmp_path) -> None:
    """The card's questions are asked and stored, reviewer and reviewedAt are listed, reset
    removes a request, and the licence terms are readable before accepting."""
    hub = people.hub
    publish(hub, people.alice, "acme/asks", {"README.md": ASKING_CARD.encode(), "LICENSE": b"Terms: be nice.\n",
                                             "model.bin": WEIGHTS}, gating="manual")
    url = f"{live}/api/models/acme/asks/access-request"
    missing = httpx.post(url, json={"accepts_aup": True, "gated_fields": {"Company": "Bobco"}}, headers=auth(people.bob))
    assert missing.status_code == 400 and "I agree" in missing.headers["X-Error-Message"]
    stranger = httpx.post(url, json={"accepts_aup": True, "gated_fields": {"Shoe size": "9"}}, headers=auth(people.bob))
    assert stranger.status_code == 400
    ok = httpx.post(url, json={"accepts_aup": True, "gated_fields": {"Company": "Bobco",
                                                                     "I agree to the use policy": True}},
                    headers=auth(people.bob))
    assert ok.status_code == 200 and ok.json()["status"] == "pending"
    api = HfApi(endpoint=live, token=people.alice)
    [pending] = api.list_pending_access_requests("acme/asks")
    assert pending.fields["gated_fields"] == {"Company": "Bobco", "I agree to the use policy": True}
    assert pending.fields["gated_prompt"] == "Share your details to use this model."
    api.accept_access_request("acme/asks", "bob")
    [entry] = httpx.get(f"{live}/api/models/acme/asks/user-access-request/accepted", headers=auth(people.alice)).json()
    assert entry["reviewer"] == "alice" and entry["reviewedAt"]
    reset = httpx.post(f"{live}/api/models/acme/asks/user-access-request/handle", headers=auth(people.alice),
                       json={"user": "bob", "status": "reset"})
    assert reset.status_code == 200
    for status in ("pending", "accepted", "rejected"):
        assert httpx.get(f"{live}/api/models/acme/asks/user-access-request/{status}",
                         headers=auth(people.alice)).json() == []
    # the terms are readable before accepting, anonymously too; the weights are not
    terms = hf_hub_download("acme/asks", "LICENSE", endpoint=live, token=False, cache_dir=tmp_path)
    assert open(terms, "rb").read() == b"Terms: be nice.\n"
    with pytest.raises(GatedRepoError):
        hf_hub_download("acme/asks", "model.bin", endpoint=live, token=people.bob, cache_dir=tmp_path)
