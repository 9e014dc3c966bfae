"""Helpers shared by the hub tests (imported by name: pytest puts tests/hub on sys.path)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aperto.hub.seed import CATALOGUE_USER
from aperto.hub.service import Hub

APACHE_CARD = "---\nlicense: apache-2.0\n---\n# Tiny\nA tiny test model.\n"
LLAMA_CARD = "---\nlicense: llama3.1\n---\n# Tiny Llama\nA tiny gated test model.\n"


@dataclass
class People:
    hub: Hub
    admin: str
    alice: str  # publisher / licensor of alice/*
    bob: str  # an ordinary user
    gw: str  # a gateway token

    def caller(self, token: str):
        return self.hub.tokens.authenticate(token)


def publish(hub: Hub, token: str, repo: str, files: dict[str, bytes], gating: str | None = None,
            message: str = "publish") -> dict:
    """Upload and commit through the library API."""
    caller = hub.tokens.authenticate(token)
    entries = []
    for path, data in files.items():
        sha = hashlib.sha256(data).hexdigest()
        hub.repos.upload(caller, repo, sha, len(data), 0, [data])
        entries.append({"path": path, "sha256": sha, "size": len(data)})
    return hub.repos.commit(caller, repo, entries, message, gating=gating)


def make_people(hub: Hub) -> People:
    admin = hub.tokens.bootstrap_admin()
    root = hub.tokens.authenticate(admin)
    hub.tokens.create_user(root, "alice", org="acme")
    hub.tokens.create_user(root, "bob")
    hub.tokens.create_user(root, "gw")
    return People(hub, admin,
                  hub.tokens.create_token(root, "alice", ["read", "publish"]),
                  hub.tokens.create_token(root, "bob", ["read"]),
                  hub.tokens.create_token(root, "gw", ["gateway"]))


def catalogue_token(people: People) -> str:
    """A token of the catalogue's account (as ``aperto up`` seeds it): what it lists is
    described on this hub, not hosted here."""
    root = people.caller(people.admin)
    people.hub.tokens.create_user(root, CATALOGUE_USER, None, True)
    return people.hub.tokens.create_token(root, CATALOGUE_USER, ["read", "publish", "admin"])



def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
