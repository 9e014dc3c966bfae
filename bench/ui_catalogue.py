"""The catalogue page with 1,000 models, rendered server-side by the hub, against a bare Jinja2
render of the same rows (the floor any server-side page pays for the same HTML).

    .venv/bin/python bench/ui_catalogue.py [--models 1000] [--rounds 30]

The hub side is a full GET / through the app in this process (routing, security middleware,
the store query, search/filter/sort, translation, the real template); the peer renders one card
per model with the same fields in a minimal template. Both run here, in the same run; the medians
and their ratio are printed. Target: the hub's page under 200 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from pathlib import Path

import jinja2
from fastapi.testclient import TestClient

from aperto.config import Settings
from aperto.hub.app import create_app
from aperto.hub.service import Hub

BARE = jinja2.Environment(autoescape=True).from_string(
    "<!doctype html><html><body><ul>{% for r in rows %}<li><h2><a href=\"/models/{{ r.id }}\">{{ r.id }}</a></h2>"
    "<span>{{ r.category }}</span><span>{{ r.license }}</span><span>{{ r.gating }}</span></li>{% endfor %}"
    "</ul></body></html>")
LICENCES = ["apache-2.0", "mit", "llama3.1", "llama2", "cc-by-nc-4.0", "gemma"]


def seed(hub: Hub, count: int) -> None:
    """count repos, each a card naming one of a few licences and a small weights file."""
    admin = hub.tokens.authenticate(hub.tokens.bootstrap_admin())
    hub.tokens.create_user(admin, "pub", org="bench")
    caller = hub.tokens.authenticate(hub.tokens.create_token(admin, "pub", ["read", "publish"]))
    for i in range(count):
        card = f"---\nlicense: {LICENCES[i % len(LICENCES)]}\n---\n# Model {i}\n".encode()
        entries = []
        for path, data in (("README.md", card), ("model.gguf", b"GGUF" + i.to_bytes(4, "big"))):
            sha = hashlib.sha256(data).hexdigest()
            hub.repos.upload(caller, f"bench/{'Model' if i % 2 else 'model'}-{i:04d}", sha, len(data), 0, [data])
            entries.append({"path": path, "sha256": sha, "size": len(data)})
        hub.repos.commit(caller, f"bench/{'Model' if i % 2 else 'model'}-{i:04d}", entries, "seed")


def median_ms(fn, rounds: int) -> float:  # noqa: ANN001
    fn()  # warm: templates compiled, caches filled
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", database_url=None)
        hub = Hub(settings)
        started = time.perf_counter()
        seed(hub, args.models)
        print(f"seeded {args.models} models in {time.perf_counter() - started:.1f} s")
        rows = hub.repos.list_repos()
        with TestClient(create_app(settings, hub)) as client:
            def hub_page() -> None:
                response = client.get("/", headers={"Accept": "text/html"})
                assert response.status_code == 200 and response.text.count('class="card"') == args.models

            def bare_page() -> None:
                assert BARE.render(rows=rows).count("<li>") == args.models

            hub_ms = median_ms(hub_page, args.rounds)
            bare_ms = median_ms(bare_page, args.rounds)
        hub.close()
    print(f"catalogue, {args.models} models: hub GET / {hub_ms:.1f} ms median; bare Jinja2 render of the same "
          f"rows {bare_ms:.1f} ms; ratio {hub_ms / bare_ms:.1f}x; target < 200 ms: {'met' if hub_ms < 200 else 'MISSED'}")


if __name__ == "__main__":
    main()
