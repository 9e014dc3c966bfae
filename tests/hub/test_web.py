"""Server-rendered pages in-process: sign-in cookie, CSRF, catalogue, model page,
request form, licensor queue, takedown, audit view."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient
from hubtools import APACHE_CARD, LLAMA_CARD, People, catalogue_token, publish


def login_form(client: TestClient | httpx.Client) -> str:
    """Open the sign-in page as a browser would: it sets the nonce cookie; returns the form's token.
    Later posts carry this hub's Origin, as a browser's own posts do."""
    client.headers["origin"] = str(client.base_url).rstrip("/")
    page = client.get("/login").text
    return re.search(r'action="/login".*?name="csrf" value="([0-9a-f]+)"', page, re.S).group(1)


def sign_in(client: TestClient | httpx.Client, token: str) -> str:
    """Sign in through the form; returns the session's CSRF token from a page."""
    r = client.post("/login", data={"token": token, "next": "/", "csrf": login_form(client)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    cookie = r.headers["set-cookie"].lower()
    assert "aperto_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert token.lower() not in cookie  # the cookie holds a session id, never the token
    page = client.get("/").text
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


def test_catalogue_shows_category_and_verdict(client: TestClient, people: People) -> None:
    publish(people.hub, people.alice, "acme/open", {"README.md": APACHE_CARD.encode()})
    publish(people.hub, people.alice, "acme/llama", {"README.md": LLAMA_CARD.encode()})
    page = client.get("/").text
    assert "acme/open" in page and "acme/llama" in page
    assert "cat-open-source" in page and "cat-open-weights-restricted" in page
    assert "cannot be recalled" in page


def test_bad_token_does_not_sign_in(client: TestClient, people: People) -> None:
    r = client.post("/login", data={"token": "aperto_nope", "csrf": login_form(client)}, follow_redirects=False)
    assert r.status_code == 401 and "not valid" in r.text
    assert "aperto_session" not in r.headers.get("set-cookie", "")
    for evil in ("//evil.example", "/\\evil.example", "https://evil.example"):
        r = client.post("/login", data={"token": people.bob, "next": evil, "csrf": login_form(client)},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/", (evil, r.status_code, r.text[-300:])


def test_can_i_use_it_form(client: TestClient, people: People) -> None:
    publish(people.hub, people.alice, "acme/llama", {"README.md": LLAMA_CARD.encode()})
    page = client.get("/models/acme/llama", params={"check": 1, "mau": 900_000_000, "use": "commercial",
                                                     "country": "US"}).text
    assert "Only with the licensor" in page
    page = client.get("/models/acme/llama", params={"check": 1, "mau": 10, "use": "commercial"}).text
    assert "Yes, with obligations" in page


def test_request_and_licensor_accept_through_forms(client: TestClient, people: People) -> None:
    publish(people.hub, people.alice, "acme/llama", {"README.md": LLAMA_CARD.encode(), "w.bin": b"weights"},
            gating="manual")
    csrf = sign_in(client, people.bob)
    form = {"org": "bobco", "mau": "10", "use": "research", "country": "FR", "accepts_aup": "true"}
    r = client.post("/models/acme/llama/request", data={**form, "csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 403  # CSRF
    r = client.post("/models/acme/llama/request", data={**form, "csrf": csrf})
    assert "Your request: <strong>pending</strong>" in r.text
    client.cookies.clear()
    csrf = sign_in(client, people.alice)
    queue = client.get("/queue").text
    assert "bobco" in queue and "Accept bob" in queue
    r = client.post("/models/acme/llama/handle", data={"csrf": csrf, "user": "bob", "status": "accepted"})
    assert "bob: accepted" in r.text
    client.cookies.clear()
    sign_in(client, people.bob)
    page = client.get("/models/acme/llama").text
    assert "You have access" in page
    link = re.search(r'href="(/acme/llama/resolve/[0-9a-f]{40}/w.bin)"', page).group(1)
    assert client.get(link).content == b"weights"


def test_takedown_form_and_audit_view(client: TestClient, people: People) -> None:
    publish(people.hub, people.alice, "acme/open", {"README.md": APACHE_CARD.encode()})
    csrf = sign_in(client, people.bob)
    r = client.post("/models/acme/open/takedown", data={"csrf": csrf, "reason": "x"})
    assert r.status_code == 403
    client.cookies.clear()
    csrf = sign_in(client, people.alice)
    r = client.post("/models/acme/open/takedown", data={"csrf": csrf, "reason": "court order"})
    assert "Withdrawn" in r.text and "cannot be recalled" in r.text
    assert client.get("/acme/open/resolve/main/README.md").status_code == 403
    assert client.get("/audit").status_code == 403  # alice is not an admin
    client.cookies.clear()
    sign_in(client, people.admin)
    page = client.get("/audit").text
    assert "Chain verified" in page and "takedown" in page


def test_metadata_only_page_offers_no_access_request(client: TestClient, people: People) -> None:
    """A catalogue entry without weights says so and has nothing to request; with weights, the form is there."""
    publish(people.hub, catalogue_token(people), "acme/card-only", {"README.md": LLAMA_CARD.encode()}, gating="manual")
    publish(people.hub, people.alice, "acme/with-weights",
            {"README.md": LLAMA_CARD.encode(), "model.safetensors": b"weights"}, gating="manual")
    sign_in(client, people.bob)
    card_only = client.get("/models/acme/card-only").text
    assert "The weights are not hosted here" in card_only
    assert 'action="/models/acme/card-only/request"' not in card_only
    with_weights = client.get("/models/acme/with-weights").text
    assert "The weights are not hosted here" not in with_weights
    assert 'action="/models/acme/with-weights/request"' in with_weights
