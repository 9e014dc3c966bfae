"""The hub-to-gateway contract: typed events and snapshot, their wire shape, and clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from aperto.errors import BadInput
from aperto.events import (
    EVENT_TYPES,
    KNOWN,
    GatingChanged,
    GatingData,
    Grant,
    Kill,
    KillData,
    TokenCreated,
    TokenCreatedData,
    UnknownEvent,
    parse_event,
    parse_row,
    parse_snapshot,
)

SHA = "ab" * 32
AT = "2026-12-04T20:00:00+00:00"


def test_the_types_are_the_contracts():
    assert EVENT_TYPES == {"grant", "revoke", "takedown", "restore", "kill", "resume", "token-created",
                           "token-revoked", "gating", "revision-takedown", "revision-restore", "repo-updated"}
    assert len(KNOWN) == len(EVENT_TYPES)


def test_the_hub_builds_the_wire_shape():
    kill = Kill(repo=None, data=KillData(reason="incident 42", by="root"))
    assert kill.row() == {"type": "kill", "repo": None, "user": None, "data": {"reason": "incident 42", "by": "root"}}
    wire = kill.wire(7, AT)
    assert wire == {"seq": 7, "type": "kill", "repo": None, "user": None,
                    "data": {"reason": "incident 42", "by": "root"}, "at": AT}
    json.dumps(wire)  # plain JSON, for HTTP, SSE and NATS alike
    assert Grant(repo="a/b", user="alice").wire(1, AT)["data"] == {}


@pytest.mark.parametrize("event", [
    Kill(repo="a/b", data=KillData(reason="x")),
    Grant(repo="a/b", user="alice"),
    TokenCreated(user="alice", data=TokenCreatedData(sha256=SHA, user="alice", scopes=["read"])),
    TokenCreated(user="alice", data=TokenCreatedData(sha256=SHA, user="alice", scopes=["read"],
                                                     expires_at=datetime(2027, 1, 31, tzinfo=UTC))),
    GatingChanged(repo="a/b", data=GatingData(gating="manual")),
])
def test_round_trip(event):
    back = parse_event(event.wire(3, AT))
    assert type(back) is type(event) and back.row() == event.row() and back.seq == 3 and back.at == AT


def test_every_known_type_parses_to_its_own_class():
    samples = {"grant": {"repo": "r/m", "user": "u"}, "revoke": {"repo": "r/m", "user": "u"},
               "takedown": {"repo": "r/m"}, "restore": {"repo": "r/m"}, "kill": {"data": {"reason": "x"}},
               "resume": {}, "token-created": {"data": {"sha256": SHA, "user": "u", "scopes": []}},
               "token-revoked": {"data": {"sha256": SHA}}, "gating": {"repo": "r/m", "data": {"gating": "open"}},
               "revision-takedown": {"repo": "r/m", "data": {"revision": "c0ffee"}},
               "revision-restore": {"repo": "r/m", "data": {"revision": "c0ffee"}},
               "repo-updated": {"repo": "r/m", "data": {"revision": "c0ffee", "ref": "v1"}}}
    assert set(samples) == EVENT_TYPES
    for kind, fields in samples.items():
        event = parse_event({"seq": 1, "type": kind, "at": AT, **fields})
        assert event.type == kind and not isinstance(event, UnknownEvent)


def test_unknown_type_keeps_type_and_repo():
    event = parse_event({"seq": 9, "type": "licence-changed", "repo": "r/m", "data": {"x": 1}, "at": AT})
    assert isinstance(event, UnknownEvent)
    assert (event.type, event.repo, event.seq, event.data) == ("licence-changed", "r/m", 9, {"x": 1})


def test_additions_inside_data_are_ignored():
    event = parse_event({"seq": 1, "type": "kill", "data": {"reason": "x", "ticket": 12}})
    assert event.row()["data"] == {"reason": "x"}


@pytest.mark.parametrize(("raw", "words"), [
    ({"seq": 1, "type": "kill", "repo": "r/m", "data": {}}, "data.reason"),
    ({"seq": 1, "type": "grant", "repo": "r/m"}, "user"),
    ({"seq": 1, "type": "gating", "repo": "r/m", "data": {"gating": "sometimes"}}, "data.gating"),
    ({"seq": 1, "type": "token-revoked", "data": {"sha256": "not-hex"}}, "data.sha256"),
    ({"seq": 1, "type": "takedown"}, "repo"),
    ({"type": "resume"}, "no 'seq'"),
    ({"seq": 1}, "'type'"),
    ([1, 2], "JSON object"),
])
def test_malformed_known_events_are_refused_clearly(raw, words):
    with pytest.raises(BadInput) as caught:
        parse_event(raw)
    assert words in caught.value.message
    if isinstance(raw, dict) and raw.get("repo"):
        assert caught.value.details["repo"] == raw["repo"]  # so a reader can fail closed on that repo


def test_rows_need_no_seq():
    assert parse_row({"type": "resume", "repo": None}).seq is None


def test_snapshot_keeps_the_old_keys():
    raw = {"seq": 4, "kills": [{"repo": None, "reason": "x", "at": AT}], "takedowns": ["a/b"], "open_repos": ["c/d"],
           "grants": [{"user": "u", "repo": "e/f"}], "tokens": [{"sha256": SHA, "user": "u", "scopes": ["read"]}]}
    assert parse_snapshot(raw).wire() == raw
    dated = {"tokens": [{"sha256": SHA, "user": "u", "scopes": [], "expires_at": "2027-01-31T00:00:00Z"}]}
    assert parse_snapshot(dated).wire()["tokens"] == dated["tokens"]
    assert parse_snapshot({}).seq == 0
    with pytest.raises(BadInput, match=r"grants\.0\.repo"):
        parse_snapshot({"grants": [{"user": "u"}]})
