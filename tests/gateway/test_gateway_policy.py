"""The policy cache and the kill-state file, without any server."""

from __future__ import annotations

import json
import time

from gwkit import ALICE, BOB, MODEL, policy_doc

from aperto.events import EVENT_TYPES, parse_event, parse_snapshot
from aperto.gateway.policy import HANDLERS, Policy, load_state, save_state, sha256


class Typed(Policy):
    """A Policy that takes the feed's JSON, as the feed hands it over after parse_event."""

    def apply(self, event) -> None:  # type: ignore[override]
        super().apply(parse_event(event) if isinstance(event, dict) else event)


def loaded(**kw) -> Policy:
    policy = Typed(30.0, **kw)
    policy.load(parse_snapshot(policy_doc()))
    policy.heard = time.monotonic()
    return policy


def code(policy: Policy, token: str, repo: str = MODEL) -> str | None:
    denial = policy.denial(sha256(token), repo)
    return denial.code if denial else None


def test_grants_tokens_and_open_repos():
    policy = loaded()
    assert code(policy, ALICE) is None
    assert code(policy, BOB) == "gated"
    assert code(policy, "aperto_unknown") == "invalid_api_key"
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
    assert code(policy, "aperto_carol") == "invalid_api_key"
    policy.apply({"seq": 4, "type": "takedown", "repo": MODEL})
    assert code(policy, ALICE) == "taken_down"
    policy.apply({"seq": 5, "type": "restore", "repo": MODEL})
    assert code(policy, ALICE) is None


def test_kills_scope_and_reason():
    policy = loaded()
    policy.apply({"seq": 1, "type": "kill", "repo": "other/model", "data": {"reason": "elsewhere"}})
    assert code(policy, ALICE) is None
    policy.apply({"seq": 2, "type": "kill", "repo": None, "data": {"reason": "incident 42", "by": "root"}})
    denial = policy.denial(sha256(ALICE), MODEL)
    assert denial is not None and denial.code == "model_halted" and denial.message == "incident 42"
    # halted beats everything, even a bad token: nobody is served
    assert code(policy, "aperto_unknown") == "model_halted"
    policy.apply({"seq": 3, "type": "resume", "repo": None})
    assert code(policy, ALICE) is None


def test_every_event_type_has_a_handler():
    assert set(HANDLERS) == EVENT_TYPES


def test_gating_changes_open_and_close_a_repo_at_once():
    policy = loaded()
    assert code(policy, BOB) == "gated"
    policy.apply({"seq": 1, "type": "gating", "repo": MODEL, "data": {"gating": "open"}})
    assert code(policy, BOB) is None and MODEL in policy.open_repos
    policy.apply({"seq": 2, "type": "gating", "repo": MODEL, "data": {"gating": "manual"}})
    assert code(policy, BOB) == "gated" and code(policy, ALICE) is None  # grants still count
    policy.apply({"seq": 3, "type": "gating", "repo": MODEL, "data": {"gating": "open"}})
    policy.apply({"seq": 4, "type": "gating", "repo": MODEL, "data": {"gating": "auto"}})
    assert code(policy, BOB) == "gated"
    assert not policy.distrusted and policy.seq == 4


def test_revision_events_leave_the_model_available():
    policy = loaded()
    policy.apply({"seq": 1, "type": "revision-takedown", "repo": MODEL, "data": {"revision": "abc", "reason": "x"}})
    assert code(policy, ALICE) is None
    policy.apply({"seq": 2, "type": "revision-restore", "repo": MODEL, "data": {"revision": "abc"}})
    assert code(policy, ALICE) is None
    assert not policy.distrusted and policy.seq == 2


def test_an_unknown_event_type_stops_that_repo_until_a_snapshot():
    policy = loaded()
    policy.apply({"seq": 1, "type": "licence-changed", "repo": MODEL, "data": {}})
    denial = policy.denial(sha256(ALICE), MODEL)
    assert denial is not None and denial.code == "policy_stale" and "licence-changed" in denial.message
    assert code(policy, ALICE, "other/model") == "gated"  # only the repo concerned
    assert policy.want_snapshot and policy.seq == 1
    policy.load(parse_snapshot(policy_doc()))
    assert code(policy, ALICE) is None


def test_an_unknown_event_without_a_repo_stops_everything():
    policy = loaded()
    policy.apply({"seq": 1, "type": "fleet-rotate", "repo": None})
    assert code(policy, ALICE) == "policy_stale" and code(policy, ALICE, "other/model") == "policy_stale"


def test_a_handler_that_fails_fails_closed(monkeypatch):
    def broken(policy, event):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(HANDLERS, "grant", broken)
    policy = loaded()
    policy.apply({"seq": 1, "type": "grant", "user": "bob", "repo": MODEL})
    denial = policy.denial(sha256(ALICE), MODEL)
    assert denial is not None and denial.code == "policy_stale" and "disk on fire" in denial.message


def test_stale_fails_closed():
    policy = Policy(0.05)
    assert policy.stale() == "no policy from the hub yet"
    policy.load(parse_snapshot(policy_doc()))
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
