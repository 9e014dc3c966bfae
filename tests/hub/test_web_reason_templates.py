"""Each access decision is stored with its templates and values (the request's reason and each of the
policy's reasons), and the pages say it from them: a wording changed since the row was written still
reads in Italian. Rows from before the templates were stored (migration 0007) read as before."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hubtools import People, publish
from sqlalchemy import select
from test_web import sign_in

from aperto.hub.access import WAITING
from aperto.store.models import AccessVersion

CARD = b"---\nlicense: llama2\n---\n# Llama 2\n"
ITALIAN = "in attesa del licenziante: §2: Gli utenti attivi mensili dichiarati"
ENGLISH = "waiting for the licensor: §2: Declared monthly active users"


def ask(people: People) -> None:
    """bob declares 800M monthly users for a Llama 2 model: the licensor must decide (§2)."""
    publish(people.hub, people.alice, "acme/llama", {"README.md": CARD, "w.bin": b"w"}, gating="auto")
    people.hub.access.request_access(people.caller(people.bob), "acme/llama",
                                     {"org": "bobco", "accepts_aup": True, "mau": 800_000_000})


def rewrite(people: People, **changes: Any) -> None:
    """Change bob's stored request in place, as an older hub or an older wording left it."""
    with people.hub.store.write() as s:
        row = s.scalars(select(AccessVersion)).one()
        for key, value in changes.items():
            setattr(row, key, value(row) if callable(value) else value)


def texts_changed(row: AccessVersion) -> dict[str, Any]:
    """The decision's English texts as a wording no current template matches."""
    decision = dict(row.decision or {})
    decision["reasons"] = [{**r, "text": f"an older wording of reason {i}"} for i, r in enumerate(decision["reasons"])]
    return decision


def without_templates(row: AccessVersion) -> dict[str, Any]:
    decision = dict(row.decision or {})
    decision["reasons"] = [{k: v for k, v in r.items() if k not in ("msgid", "values")} for r in decision["reasons"]]
    return decision


def pages(client: TestClient, people: People, lang: str) -> dict[str, str]:
    """The requester's model page and the licensor's queue and history, in one language."""
    headers = {"Accept-Language": lang}
    client.cookies.clear()
    sign_in(client, people.bob)
    out = {"model": client.get("/models/acme/llama", headers=headers).text}
    client.cookies.clear()
    sign_in(client, people.alice)
    out["queue"] = client.get("/queue", headers=headers).text
    out["manage"] = client.get("/models/acme/llama/manage", headers=headers).text
    return out


def test_the_service_stores_each_reasons_template_and_values(people: People) -> None:
    ask(people)
    mine = people.hub.access.my_request(people.caller(people.bob), "acme/llama")
    assert mine["reason_msgid"] == WAITING and mine["reason"] == WAITING % mine["reason_values"]
    assert mine["reason_values"]["why"].startswith("§2: Declared monthly active users")
    first = mine["decision"]["reasons"][0]
    assert first["msgid"].startswith("Declared monthly active users (%(how)s%(at)s)")
    assert first["values"]["counted"] == 800_000_000 and first["values"]["how"]["msgid"] == "own plus affiliates'"
    people.hub.access.handle_request(people.caller(people.alice), "acme/llama", "bob", "rejected", "not this quarter")
    typed = people.hub.access.my_request(people.caller(people.bob), "acme/llama")
    assert (typed["reason"], typed["reason_msgid"]) == ("not this quarter", "")  # a licensor's own words


def test_a_decision_reads_in_italian_from_its_templates_when_its_english_has_changed(
        client: TestClient, people: People) -> None:
    ask(people)
    rewrite(people, reason="awaiting the licensor (an older wording of the hub's sentence)", decision=texts_changed)
    for where, page in pages(client, people, "it").items():
        assert ITALIAN in page, where
        assert "older wording" not in page, where
    for where, page in pages(client, people, "en").items():
        assert ENGLISH in page, where  # English too is said from the templates


def test_a_row_from_before_the_templates_still_reads_in_italian(client: TestClient, people: People) -> None:
    ask(people)
    rewrite(people, reason_msgid=None, reason_values=None, decision=without_templates)
    for where, page in pages(client, people, "it").items():
        assert ITALIAN in page, where  # matched by its English text, as before
    # an old row whose English no longer matches any template is shown as it was written, marked as data
    rewrite(people, reason="awaiting the licensor (an older wording)")
    for where, page in pages(client, people, "it").items():
        assert '<span translate="no">awaiting the licensor (an older wording)</span>' in page, where
