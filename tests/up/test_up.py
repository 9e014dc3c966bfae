"""``aperto up`` end to end: real huggingface_hub and openai clients against the running
hub and gateway, the seeded repos, the licensor's queue, and a restart on the same data dir."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from uptools import Up, start_up

hf = pytest.importorskip("huggingface_hub")
openai = pytest.importorskip("openai")
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url  # noqa: E402
from huggingface_hub.errors import GatedRepoError  # noqa: E402

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"
DEMO = "aperto-demo/SmolLM2-135M-Instruct-demo-licence"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMALL = {"org": "Small Co", "mau": 5000, "affiliates_mau": 0, "use": "commercial", "country": "FR",
         "accepts_aup": True}
LARGE = {**SMALL, "org": "Huge Co", "mau": 800_000_000}
# the demo card's own questions (extra_gated_fields), answered as the API takes them
ANSWERS = {"Affiliation": "Huge Co", "Intended use": "Commercial product",
           "I understand this licence is a demonstration, not Meta's": True}


def api(up: Up, token: str | None, method: str, path: str, headers: dict | None = None,
        **kw) -> httpx.Response:  # noqa: ANN003
    headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    return httpx.request(method, up.hub + path, headers=headers, timeout=30, **kw)


def new_user(up: Up, name: str) -> str:
    assert api(up, up.admin, "POST", "/api/users", json={"name": name}).status_code < 300
    response = api(up, up.admin, "POST", "/api/tokens", json={"user": name, "scopes": ["read"]})
    assert response.status_code < 300, response.text
    return response.json()["token"]


def repos(up: Up) -> dict[str, dict]:
    response = api(up, None, "GET", "/api/models")
    assert response.status_code == 200
    return {r["id"]: r for r in response.json()}


def facts(up: Up, repo: str) -> dict:
    """Licence, category, licensor and gating as the hub's model_info reports them."""
    info = api(up, None, "GET", f"/api/models/{repo}").json()
    return {"license": info["cardData"]["license"], **info["aperto"], "files": [s["rfilename"] for s in info["siblings"]]}


@pytest.fixture(scope="module")
def smallco(up: Up) -> str:
    return new_user(up, "smallco")


def test_smollm2_is_seeded_open_source_but_gated_auto(up: Up) -> None:
    info = HfApi(endpoint=up.hub, token=up.admin).model_info(SMOL)
    assert info.gated == "auto"
    assert info.card_data["license"] == "apache-2.0"
    assert {s.rfilename for s in info.siblings} == {GGUF, "README.md"}
    repo = facts(up, SMOL)
    assert repo["license"] == "apache-2.0" and repo["category"] == "open-source"
    # the publisher override ("open" -> "auto") is recorded in the audit log
    audit = api(up, up.admin, "GET", "/api/audit").json()
    overrides = [r for r in audit if r["action"] == "license.override" and r["subject"] == f"repo:{SMOL}"]
    assert [(r["before"]["automatic"], r["after"]["gating"]) for r in overrides] == [("open", "auto")]


def test_small_company_is_granted_then_downloads_with_huggingface_hub(up: Up, smallco: str, tmp_path: Path) -> None:
    with pytest.raises(GatedRepoError):
        hf_hub_download(SMOL, "README.md", endpoint=up.hub, token=smallco, cache_dir=tmp_path / "a")
    answer = api(up, smallco, "POST", f"/api/models/{SMOL}/access-request", json=SMALL).json()
    assert answer["status"] == "accepted", answer
    readme = hf_hub_download(SMOL, "README.md", endpoint=up.hub, token=smallco, cache_dir=tmp_path / "b")
    assert "license: apache-2.0" in Path(readme).read_text()
    meta = get_hf_file_metadata(hf_hub_url(SMOL, GGUF, endpoint=up.hub), token=smallco)
    assert meta.size and meta.size > 90_000_000 and len(meta.commit_hash or "") == 40
    head = api(up, smallco, "GET", f"/{SMOL}/resolve/main/{GGUF}", headers={"Range": "bytes=0-3"})
    assert head.status_code == 206 and head.content == b"GGUF"


def test_openai_client_chats_through_the_gateway_with_a_granted_token(up: Up, smallco: str) -> None:
    client = openai.OpenAI(base_url=up.gateway, api_key=smallco, max_retries=0, timeout=60)
    # the grant reaches the gateway over the hub's event feed; give it a moment, not a fixed sleep
    deadline = time.monotonic() + 15
    while True:
        try:
            reply = client.chat.completions.create(model=SMOL, max_tokens=8,
                                                   messages=[{"role": "user", "content": "Say hello."}])
            break
        except (openai.PermissionDeniedError, openai.AuthenticationError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert reply.choices[0].message.content
    assert reply.usage is not None and 0 < reply.usage.completion_tokens <= 8
    # a user with no grant is refused by the gateway
    stranger = new_user(up, "stranger")
    with pytest.raises((openai.PermissionDeniedError, openai.AuthenticationError)):
        openai.OpenAI(base_url=up.gateway, api_key=stranger, max_retries=0).chat.completions.create(
            model=SMOL, max_tokens=4, messages=[{"role": "user", "content": "hi"}])


def test_catalogue_llama2_is_metadata_only_and_fails_osd_5_and_6(up: Up, tmp_path: Path) -> None:
    llama = facts(up, "meta-llama/Llama-2-7b-hf")
    assert llama["license"] == "llama2" and llama["category"] == "open-weights-restricted"
    assert llama["licensor"] == "aperto-catalogue"
    page = api(up, None, "GET", "/models/meta-llama/Llama-2-7b-hf", headers={"Accept": "text/html"}).text
    assert re.findall(r'class="result-fail"><td>(\d+)\.', page) == ["5", "6"]
    info = HfApi(endpoint=up.hub, token=up.admin).model_info("meta-llama/Llama-2-7b-hf")
    assert [s.rfilename for s in info.siblings] == ["README.md"]
    card = Path(hf_hub_download("meta-llama/Llama-2-7b-hf", "README.md", endpoint=up.hub, token=up.admin,
                                cache_dir=tmp_path)).read_text()
    assert "weights not hosted here" in card and "12.8" in card
    assert facts(up, "openai/gpt-4")["category"] == "closed"
    assert "meta-llama/Llama-2-34b-hf" in repos(up)  # a catalogue id without ORG/ uses its alias


def test_demo_licence_queue_above_700m_and_obligations_below(up: Up, smallco: str) -> None:
    demo = facts(up, DEMO)
    assert demo["license"] == "aperto-demo-community-license" and demo["licensor"] == "demo-licensor"
    assert demo["gating"] == "auto"
    big = new_user(up, "hugeco")
    pending = api(up, big, "POST", f"/api/models/{DEMO}/access-request",
                  json={**LARGE, "gated_fields": ANSWERS}).json()
    assert pending["status"] == "pending" and pending["decision"]["outcome"] == "needs_licensor_grant"
    assert pending["fields"]["gated_fields"] == ANSWERS  # kept with the request, for the licensor
    queue = HfApi(endpoint=up.hub, token=up.licensor).list_pending_access_requests(DEMO)
    assert [r.username for r in queue] == ["hugeco"]
    # below 700M the grant is automatic; shipping the model in an app brings the notice obligations
    small = api(up, smallco, "POST", f"/api/models/{DEMO}/access-request",
                json={**SMALL, "redistribute": True, "gated_fields": ANSWERS}).json()
    assert small["status"] == "accepted"
    assert small["decision"]["outcome"] == "allowed_with_obligations" and small["decision"]["obligations"]


def test_restart_keeps_state_and_seeds_nothing_twice(up: Up, up_dir: Path, smallco: str, tmp_path: Path) -> None:
    before = repos(up)
    kill = api(up, up.licensor, "POST", "/api/kill", json={"repo": DEMO, "reason": "kept across restarts"})
    assert kill.status_code == 200, kill.text
    audit_rows = len(api(up, up.admin, "GET", "/api/audit").json())
    assert up.stop() == 0, "\n".join(up.lines)
    assert any("aperto stopped" in line for line in up.lines)
    again = start_up(up_dir)
    try:
        assert again.value("seeded:").startswith("0 new")
        assert repos(again) == before
        # the only new audit rows are this start's token rotation: 3 revoked, 3 issued
        rows = api(again, again.admin, "GET", "/api/audit").json()
        assert {r["action"] for r in rows[audit_rows:]} == {"token.revoke", "token.create"}
        assert len(rows) - audit_rows == 6
        # the last run's admin token is revoked, the grant given before the restart holds
        assert api(again, up.admin, "GET", "/api/whoami-v2").status_code == 401
        hf_hub_download(SMOL, "README.md", endpoint=again.hub, token=smallco, cache_dir=tmp_path)
        queue = HfApi(endpoint=again.hub, token=again.licensor).list_pending_access_requests(DEMO)
        assert [r.username for r in queue] == ["hugeco"]
        assert api(again, again.admin, "GET", "/api/audit/verify").json()["ok"] is True
        # the kill switch pulled before the restart still holds on the new gateway
        client = openai.OpenAI(base_url=again.gateway, api_key=smallco, max_retries=0, timeout=60)
        with pytest.raises(openai.APIStatusError, match="kept across restarts"):
            client.chat.completions.create(model=DEMO, max_tokens=4, messages=[{"role": "user", "content": "hi"}])
    finally:
        assert again.stop() == 0, "\n".join(again.lines)
