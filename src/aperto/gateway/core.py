"""The gateway as a library object: settings, backends, the policy cache, kill state
and the requests in flight. The FastAPI app in ``app.py`` is a thin adapter over it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from aperto.config import Settings
from aperto.errors import ApertoError, BadInput, Conflict, Forbidden, NotFound, TooLarge, Unavailable
from aperto.events import Event, UsageReport
from aperto.gateway.backends import END, Backend, Channel, create
from aperto.gateway.feed import HubFeed
from aperto.gateway.nats_feed import NatsFeed
from aperto.gateway.policy import (
    STATE_FILE,
    Policy,
    load_state,
    now_iso,
    read_policy_file,
    save_state,
    sha256,
)
from aperto.gateway.request import clean, prompt_chars
from aperto.gateway.slices import request_short_slice
from aperto.gateway.stream import Live, Stream
from aperto.gateway.usage import UsageLedger
from aperto.gateway.wire import direct_write_problem

log = logging.getLogger("aperto.gateway")
USAGE_REPORT_S = 10.0  # how often usage goes to the hub; a crash loses at most this much


class UnknownModel(NotFound):
    code = "model_not_found"


class Gateway:
    def __init__(self, settings: Settings, backends: dict[str, Backend] | None = None) -> None:
        self.settings = settings
        self.backends: dict[str, Backend] = dict(backends or {})
        self.standalone = settings.policy_file is not None
        self.policy = Policy(settings.staleness_limit_s, standalone=self.standalone)
        self.state_path = settings.data_dir / STATE_FILE
        self.live: set[Live] = set()
        self.direct_chunks = 0  # streamed chunks the backend's thread wrote to the socket itself (wire.py)
        self.feed: HubFeed | None = None
        self.on_applied: Callable[[Event], None] | None = None  # set by gateway/metrics.py
        self.on_token: Callable[[bool, float], None] | None = None  # set by gateway/metrics.py
        self.usage = UsageLedger()
        self.usage_pending: UsageReport | None = None  # sent, not yet acknowledged: resent with its id
        self._tasks: list[asyncio.Task[None]] = []
        self.short_slice = False  # whether the event loop's thread got gateway_relay_slice_us
        self.direct_write = False  # whether streams may be written by the backend's thread (wire.py)
        self.direct_write_off: str | None = "not started"  # why not

    # ---- lifecycle ---------------------------------------------------------------------------
    def model_specs(self) -> dict[str, dict[str, str]]:
        """The bundled SmolLM2 under settings.gateway_model (empty: none), plus the model map."""
        bundled = {self.settings.gateway_model: {"backend": "llamacpp"}} if self.settings.gateway_model else {}
        return {**bundled, **self.settings.gateway_models}

    async def start(self) -> None:
        """Load kill state before anything else, so a restart while halted comes up halted."""
        saved = load_state(self.state_path)
        if self.standalone:
            assert self.settings.policy_file is not None
            self.policy.load(read_policy_file(self.settings.policy_file))
        self.policy.kills.update(saved)
        if not self.backends:
            for name, spec in self.model_specs().items():
                self.backends[name] = await asyncio.to_thread(create, {"name": name, **spec}, self.settings)
        # after the models are loaded: their compute threads must keep the default slice, and a
        # thread's slice passes to the threads it creates from now on
        self.short_slice = request_short_slice(self.settings.gateway_relay_slice_us)
        self.direct_write_off = direct_write_problem() if self.settings.gateway_direct_write else "turned off"
        self.direct_write = self.direct_write_off is None
        if self.settings.gateway_direct_write and self.direct_write_off:
            log.warning("streams go through the event loop: %s", self.direct_write_off)
        if not self.standalone:
            if self.settings.nats_url:  # the fleet's feed: NATS JetStream (docs/fleet.md)
                self.feed = NatsFeed(self.settings.hub_url, self.settings.token, self.settings.nats_url,
                                     self.policy, self.changed)
            else:
                self.feed = HubFeed(self.settings.hub_url, self.settings.token, self.policy, self.changed)
            self.feed.on_applied = self.on_applied
            self._tasks.append(asyncio.create_task(self.feed.run()))
            self._tasks.append(asyncio.create_task(self._watch_staleness()))
            self._tasks.append(asyncio.create_task(self._report_usage()))

    async def close(self) -> None:
        for live in list(self.live):
            live.stop(Unavailable("the gateway is shutting down"))
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for backend in self.backends.values():
            backend.close()

    async def _report_usage(self) -> None:
        """Every USAGE_REPORT_S, what was served goes to the hub's ledger. A report keeps its id
        until the hub acknowledges it, so a retry after a lost answer counts once."""
        headers = {"Authorization": f"Bearer {self.settings.token}"} if self.settings.token else {}
        async with httpx.AsyncClient(base_url=self.settings.hub_url, headers=headers, timeout=10) as client:
            while True:
                await asyncio.sleep(USAGE_REPORT_S)
                await self.report_usage(client)

    async def report_usage(self, client: httpx.AsyncClient) -> bool:
        self.usage_pending = self.usage_pending or self.usage.drain()
        if self.usage_pending is None:
            return True
        try:
            answer = await client.post("/api/usage", json=self.usage_pending.wire())
        except httpx.HTTPError as exc:
            log.warning("usage report: %s", exc)
            return False
        if answer.status_code != 200:
            log.warning("usage report: the hub answered %s: %s", answer.status_code, answer.text[:200])
            return False
        self.usage_pending = None
        return True

    async def _watch_staleness(self) -> None:
        # new requests check staleness themselves; this ends streams already running
        while True:
            await asyncio.sleep(min(1.0, self.policy.limit / 4))
            if self.policy.stale() and self.live:
                self.recheck()

    # ---- policy changes ------------------------------------------------------------------------
    def changed(self) -> None:
        """The policy moved: persist kills, and stop every stream that is no longer allowed."""
        self.save()
        self.recheck()

    def save(self) -> None:
        try:
            save_state(self.state_path, self.policy.kills, self.policy.seq)
        except OSError:
            pass  # the in-memory state still governs; readyz would not know, so keep serving the truth

    def recheck(self) -> None:
        for live in list(self.live):
            denial = self.policy.denial(live.sha, live.repo)
            if denial is not None:
                live.stop(denial)

    def kill(self, repo: str | None, reason: str) -> None:
        self.policy.kills[repo] = {"reason": reason, "at": now_iso()}
        self.changed()

    def resume(self, repo: str | None) -> None:
        self.policy.kills.pop(repo, None)
        self.changed()

    def admin(self, token: str | None) -> None:
        """Standalone mode's /admin/kill and /admin/resume: an admin token from the policy file."""
        if not self.standalone:
            raise Conflict("this gateway follows the hub; kill and resume there",
                           hint="aperto kill --reason ... (POST /api/kill on the hub)")
        if not token or not self.policy.is_admin(sha256(token)):
            raise Forbidden("an admin token from the policy file is required")

    # ---- serving -----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        halted = {name: self.policy.kill_for(name) for name in self.backends}
        stale = self.policy.stale()
        all_halted = bool(halted) and all(halted.values())
        heard = self.policy.heard
        return {
            "ready": not all_halted and stale is None,
            "mode": "standalone" if self.standalone else "hub",
            "halted": {name: kill["reason"] for name, kill in halted.items() if kill},
            "kills": [{"repo": repo, **info} for repo, info in self.policy.kills.items()],
            "stale": stale,
            "distrusted": {repo or "*": why for repo, why in self.policy.distrusted.items()},
            "seq": self.policy.seq,
            "heard_s_ago": None if heard is None else round(time.monotonic() - heard, 3),
            "feed_error": self.feed.error if self.feed else None,
            "in_flight": len(self.live),
            "direct_chunks": self.direct_chunks,
            "direct_write": "on" if self.direct_write else f"off: {self.direct_write_off}",
        }

    def check(self, route: str, body: Any, token: str | None) -> tuple[str, str, dict[str, Any]]:
        """Validate a request and decide it; returns (token sha256, model name, the request for the backend)."""
        if not isinstance(body, dict):
            raise BadInput("the request body must be a JSON object")
        request = clean(route, body)
        model = request["model"]
        chars = prompt_chars(request)
        if chars > self.settings.max_prompt_chars:
            raise TooLarge(f"the prompt has {chars} characters; this gateway accepts at most "
                           f"{self.settings.max_prompt_chars}", param="messages" if route == "chat" else "prompt")
        if model not in self.backends:
            raise UnknownModel(f"the model {model!r} does not exist on this gateway",
                               hint="GET /v1/models lists the ones you may use", param="model")
        sha = sha256(token or "")
        denial = self.policy.denial(sha, model)
        if denial is not None:
            raise denial
        return sha, model, request

    async def stream(self, route: str, body: dict[str, Any], token: str | None,
                     usage: bool = False) -> AsyncIterator[dict[str, Any]]:
        """OpenAI chunks for one request, as dicts. Raises the reason if the request is stopped."""
        stream = self.open_stream(route, body, token, usage)
        try:
            async for batch in stream:
                for item in batch:
                    yield json.loads(item) if isinstance(item, bytes) else item
        finally:
            await stream.aclose()

    def open_stream(self, route: str, body: dict[str, Any], token: str | None, usage: bool = False) -> Stream:
        """Check the request and start it; the caller must ``aclose`` what it gets (an event loop
        must be running). ``usage``: send the usage chunk whatever the request says."""
        sha, model, request = self.check(route, body, token)
        want_usage = usage or bool((request.get("stream_options") or {}).get("include_usage"))
        request = {**request, "stream": True, "stream_options": {"include_usage": True}}
        channel = Channel()
        live = Live(sha, model, channel)
        live.task = asyncio.create_task(self._drive(self.backends[model], route, request, channel))
        self.live.add(live)
        stream = Stream(live, model, want_usage, self.live.discard)
        user = self.policy.user(sha) or "?"
        stream.on_usage = lambda chunk: self.usage.count(user, model, chunk)
        stream.on_token = self.on_token
        return stream

    @staticmethod
    async def _drive(backend: Backend, route: str, request: dict[str, Any], channel: Channel) -> None:
        try:
            await backend.generate(route, request, channel)
        except asyncio.CancelledError:
            return
        except ApertoError as exc:
            channel.put_here(exc)
        except Exception as exc:  # a backend bug must not become a hung request
            channel.put_here(Unavailable(f"the backend failed: {type(exc).__name__}: {exc}"))
        channel.put_here(END)

    async def complete(self, route: str, body: dict[str, Any], token: str | None) -> dict[str, Any]:
        """A non-streaming answer, assembled from the stream (so a kill aborts it, never truncates it)."""
        texts: dict[int, list[str]] = {}
        finish: dict[int, Any] = {}
        usage: dict[str, Any] | None = None
        first: dict[str, Any] = {}
        async for chunk in self.stream(route, body, token, usage=True):
            first = first or chunk
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                i = choice.get("index", 0)
                piece = (choice.get("delta") or {}).get("content") if route == "chat" else choice.get("text")
                texts.setdefault(i, []).append(piece or "")
                if choice.get("finish_reason"):
                    finish[i] = choice["finish_reason"]
        choices = []
        for i in sorted(texts):
            text = "".join(texts[i])
            if route == "chat":
                choices.append({"index": i, "message": {"role": "assistant", "content": text},
                                "finish_reason": finish.get(i), "logprobs": None})
            else:
                choices.append({"index": i, "text": text, "finish_reason": finish.get(i), "logprobs": None})
        return {"id": first.get("id", "cmpl-aperto"), "object": "chat.completion" if route == "chat" else
                "text_completion", "created": first.get("created", int(time.time())),
                "model": body["model"], "choices": choices,
                "usage": usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}
