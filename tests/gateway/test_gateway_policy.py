"""The policy cache and the kill-state file, without any server."""

from __future__ import annotations

import json
import time

from gwkit import ALICE, BOB, MODEL, policy_doc

from aperto.gateway.policy import Policy, load_state, save_state, sha256


def loaded(**kw) -> Policy:
    policy = Policy(30.0, **kw)
    policy.load(policy_doc())
    policy.heard = time.monotonic()
    return policy


def code(policy: Policy, token: str, repo: str = MODEL) -> str | None:
    denial = policy.denial(sha256(token), repo)
    return denial.code if denial else None


def test_grants_tokens_and_open_repos():
    policy = loaded()
    assert code(policy, ALICE) is None
    assert code(policy, BOB) == "gated"
    assert code(policy, "aperto_unknown") == "unauthorized"
    policy.apply({"seq": 1, "type": "grant", "user": "bob", "repo": MODEL})
    assert code(policy, BOB) is None
    policy.apply({"seq": 2, "type": "revoke", "user": "bob", "repo": MODEL})
    assert code(policy, BOB) == "gated"
    policy.open_repos.add(MODEL)
    assert code(policy, BOB) is None
    assert policy.seq == 2


def test_token_events_and_takedown():
    policy = loaded()
    policy.apply({"seq": 1, "type": "token-created", "user": "carol",
                  "data": {"sha256": sha256("aperto_carol"), "user": "carol", "scopes": ["read"]}})
    policy.apply({"seq": 2, "type": "grant", "user": "carol", "repo": MODEL})
    assert code(policy, "aperto_carol") is None
    policy.apply({"seq": 3, "type": "token-revoked", "data": {"sha256": sha256("aperto_carol")}})
    assert code(policy, "aperto_carol") == "unauthorized"
    policy.apply({"seq": 4, "type": "takedown", "repo": MODEL})
    assert code(policy, ALICE) == "taken_down"
    policy.apply({"seq": 5, "type": "restore", "repo": MODEL})
    assert code(policy, ALICE) is None


def test_kills_scope_and_reason():
    policy = loaded()
    policy.apply({"seq": 1, "type": "kill", "repo": "other/model", "data": {"reason": "elsewhere"}})
    assert code(policy, ALICE) is None
    policy.apply({"seq": 2, "type": "kill", "repo": None, "data": {"reason": "incident 42"}})
    denial = policy.denial(sha256(ALICE), MODEL)
    assert denial is not None and denial.code == "model_halted" and denial.message == "incident 42"
    # halted beats everything, even a bad token: nobody is served
    assert code(policy, "aperto_unknown") == "model_halted"
    policy.apply({"seq": 3, "type": "resume", "repo": None})
    assert code(policy, ALICE) is None


def test_stale_fails_closed():
    policy = Policy(0.05)
    assert policy.stale() == "no policy from the hub yet"
    policy.load(policy_doc())
    policy.heard = time.monotonic()
    assert code(policy, ALICE) is None
    time.sleep(0.1)
    assert code(policy, ALICE) == "policy_stale"
    assert "limit" in policy.stale()
    assert Policy(0.05, standalone=True).stale() is None


def test_state_file_round_trip(tmp_path):
    path = tmp_path / "sub" / "gateway-state.json"
    kills = {None: {"reason": "stop all", "at": "2026-11-23T10:00:00+00:00"}, "a/b": {"reason": "one", "at": None}}
    save_state(path, kills, 7)
    assert load_state(path) == kills
    assert json.loads(path.read_text())["seq"] == 7
    assert [p.name for p in path.parent.iterdir()] == ["gateway-state.json"]  # no temp file left behind
    save_state(path, {}, 8)
    assert load_state(path) == {}


def test_broken_state_file_halts_everything(tmp_path):
    path = tmp_path / "gateway-state.json"
    path.write_text("{not json")
    kills = load_state(path)
    assert None in kills and "unreadable" in kills[None]["reason"]
    assert load_state(tmp_path / "absent.json") == {}
