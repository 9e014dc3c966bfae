"""Helpers for the gateway tests: live uvicorn servers on free loopback ports, policy files,
and a stand-in hub feed (tests/gateway/standin_hub.py) that implements docs/contracts.md."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from livekit import LiveServer, free_port  # noqa: F401 - re-exported for the gateway tests

from aperto.config import Settings
from aperto.gateway.policy import sha256

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
ALICE = "aperto_alice-token"  # has a grant for MODEL
BOB = "aperto_bob-token"  # valid token, no grant
ADMIN = "aperto_admin-token"


@contextlib.contextmanager
def serve(app: Any) -> Iterator[LiveServer]:
    with LiveServer(app) as live:
        yield live


def policy_doc(kills: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "seq": 0,
        "tokens": [{"sha256": sha256(ALICE), "user": "alice", "scopes": ["read"]},
                   {"sha256": sha256(BOB), "user": "bob", "scopes": ["read"]},
                   {"sha256": sha256(ADMIN), "user": "root", "scopes": ["admin"]}],
        "grants": [{"user": "alice", "repo": MODEL}, {"user": "alice", "repo": "fake/model"}],
        "open_repos": [],
        "takedowns": [],
        "kills": kills or [],
    }


def settings_for(tmp_path: Path, **kw: Any) -> Settings:
    base: dict[str, Any] = {"data_dir": tmp_path / "data", "gateway_model": MODEL, "n_threads": 1, "n_ctx": 1024,
                            "gateway_parallel": 8}
    base.update(kw)
    return Settings(**base)


class StreamReader(threading.Thread):
    """Reads one streaming chat completion with the official openai client in a thread,
    and records the chunks it got and how it ended."""

    def __init__(self, base_url: str, token: str, model: str, max_tokens: int = 400, prompt: str = "Tell a story.",
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(daemon=True)
        import openai

        self.client = openai.OpenAI(base_url=base_url + "/v1", api_key=token, max_retries=0, timeout=60)
        self.model, self.max_tokens, self.prompt, self.extra = model, max_tokens, prompt, extra
        self.chunks = 0
        self.error: Exception | None = None
        self.finished = False

    def run(self) -> None:
        try:
            stream = self.client.chat.completions.create(
                model=self.model, messages=[{"role": "user", "content": self.prompt}],
                max_tokens=self.max_tokens, stream=True, extra_body=self.extra)
            for _chunk in stream:
                self.chunks += 1
            self.finished = True
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            self.error = exc

    def wait_for_chunks(self, n: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.chunks < n:
            if self.error or self.finished or time.monotonic() > deadline:
                raise AssertionError(f"stream got {self.chunks} chunks, error={self.error!r}")
            time.sleep(0.01)


def error_code(exc: Exception | None) -> str | None:
    body = getattr(exc, "body", None)
    return body.get("code") if isinstance(body, dict) else None


def wait_until(predicate: Any, timeout: float = 10, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
