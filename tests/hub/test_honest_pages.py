"""Model pages say what is true: the real state of a licence aperto does not know, hosted
repos told from catalogue entries by what they are (not by file names), closed models
called closed, and the demonstration licence read from its LICENSE.md."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hubtools import LLAMA_CARD, People, catalogue_token, publish
from test_web import sign_in

from aperto import catalog
from aperto.hub import licensing
from aperto.hub.seed import SEED_DATA, catalogue_card, catalogue_repo, demo_card
from aperto.licenses.identify import identify_path

ODD_CARD = b"---\nlicense: other\nlicense_name: acme-research-licence\n---\n# Odd\n"


def test_a_licence_the_knowledge_base_lacks_is_named_as_such(client: TestClient, people: People) -> None:
    publish(people.hub, people.alice, "acme/odd", {"README.md": ODD_CARD, "weights.dat": b"\0" * 64})
    page = client.get("/models/acme/odd").text
    assert "status: identified" not in page
    note = re.search(r'<p id="licence-unknown">(.*?)</p>', page, re.S).group(1)
    assert "<code>acme-research-licence</code>" in note and "knowledge base does not know it" in note
    assert "the licensor decides" in note


def test_no_licence_at_all_shows_its_status(client: TestClient, people: People) -> None:
    publish(people.hub, people.alice, "acme/bare", {"notes.txt": b"nothing about licences"})
    note = re.search(r'<p id="licence-unknown">(.*?)</p>', client.get("/models/acme/bare").text, re.S).group(1)
    assert note == "The licence could not be identified (status: unknown)."


def test_a_hosted_gated_repo_is_hosted_whatever_its_files_are_called(client: TestClient, people: People) -> None:
    publish(people.hub, people.alice, "acme/odd-names", {"README.md": LLAMA_CARD.encode(), "weights.dat": b"\0" * 64},
            gating="auto")
    sign_in(client, people.bob)
    page = client.get("/models/acme/odd-names").text
    assert "not hosted" not in page
    assert '<h2 id="access">Access</h2>' in page and 'action="/models/acme/odd-names/request"' in page
    assert "access: gated, licence-aware automatic" in page


@pytest.fixture
def catalogue(client: TestClient, people: People) -> TestClient:
    """Two entries as the seed writes them (the whole catalogue takes a while to publish)."""
    token = catalogue_token(people)
    for model in ("openai/gpt-4", "meta-llama/Llama-2-7b-hf"):
        facts = catalog.find(model)
        card = catalogue_card(facts, licensing.verdict(facts.license))
        publish(people.hub, token, catalogue_repo(facts), {"README.md": card.encode()})
    return client


def test_a_closed_model_is_called_closed(catalogue: TestClient) -> None:
    page = catalogue.get("/models/openai/gpt-4").text
    assert "access: closed, not hosted" in page and "gated" not in page
    assert '<p id="not-hosted"' in page and '<h2 id="access">' not in page and "Chat with this model" not in page
    row = re.search(r"openai/gpt-4.*?</li>", catalogue.get("/").text, re.S)
    assert row and "access: closed, not hosted" in row.group(0)


def test_an_open_weights_catalogue_entry_is_not_hosted_here(catalogue: TestClient) -> None:
    page = catalogue.get("/models/meta-llama/Llama-2-7b-hf").text
    assert "access: not hosted here" in page and '<p id="not-hosted"' in page and '<h2 id="access">' not in page


def test_license_md_is_a_licence_candidate() -> None:
    paths = ["LICENSE.md", "README.md", "model.gguf", "docs/LICENSE.md", "notes.txt"]
    assert licensing.licence_candidates(paths) == ["LICENSE.md", "README.md", "model.gguf", "docs/LICENSE.md"]
    assert licensing.is_licence_text("LICENSE.md")


def test_the_demo_folder_is_read_from_its_licence_text(tmp_path: Path) -> None:
    shutil.copy(SEED_DATA / "DEMO-LICENSE.md", tmp_path / "LICENSE.md")
    (tmp_path / "README.md").write_text(demo_card())
    found = identify_path(tmp_path)
    assert found.id == "aperto-demo-community-license" and found.governing == "LICENSE.md"
    assert not any("no licence text was found" in note for note in found.notes)
