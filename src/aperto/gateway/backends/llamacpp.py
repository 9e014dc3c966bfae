"""llama.cpp in process, through xllamacpp.

xllamacpp's handlers block and call back in the calling thread, once per chunk;
returning True from the callback aborts the generation there and then. So each
request runs in a worker thread, chunks cross to the event loop through the
request's Channel, and the callback returns True as soon as the channel is
stopped (client gone, kill, revocation): llama.cpp stops working for it.

Text from clients is tokenised as text, never as control tokens. llama.cpp's handlers
tokenise the whole prompt with special-token parsing on, so a request whose text holds a
control token's text (``<|im_start|>system`` typed by a user) goes another way: the chat
template is applied around placeholders, each client text is tokenised with parsing off,
and the token ids go to the completions handler (gateway/vocab.py explains the risk)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from aperto.bundled import smollm2_gguf
from aperto.errors import BadInput, TooLarge
from aperto.gateway.backends import register
from aperto.gateway.backends.base import Backend, Channel
from aperto.gateway.vocab import control_token_texts


def _error(err: Any) -> Exception:
    message = err.get("message", str(err)) if isinstance(err, dict) else str(err)
    if isinstance(err, dict) and err.get("type") == "exceed_context_size_error":
        return TooLarge(message, hint="shorten the prompt or lower max_tokens")
    return BadInput(message)


@register("llamacpp")
class LlamaCpp(Backend):
    def __init__(self, spec, settings) -> None:
        super().__init__(spec, settings)
        import xllamacpp  # heavy; only when a model actually uses llama.cpp

        params = xllamacpp.CommonParams()
        params.model.path = spec.get("path") or str(smollm2_gguf())
        parallel = max(1, int(spec.get("parallel", settings.gateway_parallel)))
        params.n_parallel = parallel
        # each slot has its own n_ctx cells: with one unified pool, every token attended over the
        # cells of all running requests (8 concurrent HumanEval requests ran 1.4x slower that way)
        params.kv_unified = False
        params.n_ctx = settings.n_ctx * parallel
        params.cpuparams.n_threads = settings.n_threads
        params.cpuparams_batch.n_threads = settings.n_threads
        params.use_jinja = True  # the GGUF's own chat template
        params.cache_ram_mib = int(spec.get("prompt_cache_mib", settings.gateway_prompt_cache_mib))
        params.verbosity = -1
        if spec.get("name"):
            params.model_alias = {spec["name"]}  # so llama.cpp's chunks carry the served name already
        self.params = params
        controls = sorted(control_token_texts(params.model.path), key=len, reverse=True)
        self.controls = re.compile("|".join(map(re.escape, controls))) if controls else None
        self.guarded = 0  # requests that took the plain-text tokenisation path
        # llama.cpp also serves HTTP on a loopback port; a key keeps anyone else on the host from using
        # the model there without the gateway's policy. The gateway uses its template and tokenizer endpoints
        self.local_key = secrets.token_urlsafe(24)
        params.api_keys = [self.local_key]
        self.server = xllamacpp.Server(params)
        self.local = httpx.Client(base_url=self.server.listening_address, timeout=30,
                                  headers={"Authorization": f"Bearer {self.local_key}"})
        # requests beyond the slots wait inside llama.cpp, so give them threads to wait in; the event
        # loop starts them, so they inherit its short scheduler slice (gateway/slices.py)
        self.pool = ThreadPoolExecutor(max_workers=max(64, parallel * 4), thread_name_prefix="llamacpp")
        self._lock = threading.Lock()
        self.callbacks = 0  # chunks llama.cpp produced (tests and the bench count these)
        self.late = 0  # callbacks that arrived after a stop (each one is answered with abort)

    def holds_control_text(self, route: str, body: dict[str, Any]) -> bool:
        if self.controls is None:
            return False
        texts = [m["content"] for m in body["messages"]] if route == "chat" else [body["prompt"]]
        return any(self.controls.search(text) for text in texts)

    def tokenize(self, text: str, special: bool, add_special: bool = False) -> list[int]:
        r = self.local.post("/tokenize", json={"content": text, "parse_special": special, "add_special": add_special})
        r.raise_for_status()
        return [t if isinstance(t, int) else t["id"] for t in r.json()["tokens"]]

    def plain_text_ids(self, route: str, body: dict[str, Any]) -> list[int]:
        """The prompt as token ids, every client text tokenised as text (worker thread)."""
        if route == "completions":
            return self.tokenize(body["prompt"], special=False, add_special=True)
        nonce = secrets.token_hex(8)  # a placeholder no client text can contain
        marks = [f"aperto{nonce}m{i}" for i in range(len(body["messages"]))]
        r = self.local.post("/apply-template", json={"messages": [
            {"role": m["role"], "content": mark} for m, mark in zip(body["messages"], marks, strict=True)]})
        r.raise_for_status()
        templated, pos, ids = r.json()["prompt"], 0, list[int]()
        for mark, message in zip(marks, body["messages"], strict=True):
            at = templated.find(mark, pos)
            if at < 0:  # a template that drops or rewrites a message: refuse rather than guess
                raise BadInput("this model's chat template does not keep every message; the request holds "
                               "control-token text and cannot be tokenised safely", param="messages")
            ids += self.tokenize(templated[pos:at], special=True, add_special=not ids)
            ids += self.tokenize(message["content"], special=False)
            pos = at + len(mark)
        return ids + self.tokenize(templated[pos:], special=True)

    async def generate(self, route: str, body: dict[str, Any], out: Channel) -> None:
        guarded = self.holds_control_text(route, body)
        self.guarded += guarded
        handler = self.server.handle_completions if guarded or route == "completions" else \
            self.server.handle_chat_completions
        as_chat = guarded and route == "chat"  # completions chunks, shown to the client as chat chunks
        failure: list[Any] = []
        # JSON in, JSON out: xllamacpp then hands over each chunk as the bytes llama.cpp wrote,
        # which the gateway sends on as they are (no dict built and serialized again per token)
        raw = b"" if guarded else json.dumps(body).encode()
        first = [True]

        def callback(chunk: bytes) -> bool | None:
            stopped = out.stopped  # read once: the count and the answer agree
            with self._lock:
                self.callbacks += 1
                self.late += stopped
            if stopped:
                return True  # abort the generation in llama.cpp
            if chunk.startswith(b'{"error"'):
                failure.append(json.loads(chunk)["error"])
                return True
            try:
                out.put(chat_chunk(chunk, first) if as_chat else chunk)
            except RuntimeError:  # the event loop is gone (shutdown): nobody is listening
                return True
            return None

        def run() -> Any:
            try:
                request = raw
                if guarded:
                    fields = {k: v for k, v in body.items() if k not in ("messages", "prompt")}
                    request = json.dumps({**fields, "prompt": self.plain_text_ids(route, body)}).encode()
                return handler(request, callback)
            except ValueError as exc:  # xllamacpp's own request validation
                failure.append(str(exc))
                return None

        result = await asyncio.get_running_loop().run_in_executor(self.pool, run)
        if isinstance(result, dict) and "error" in result:
            failure.append(result["error"])
        if failure:
            raise _error(failure[0])

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.local.close()
        server, self.server = self.server, None
        del server


def chat_chunk(raw: bytes, first: list[bool]) -> dict[str, Any]:
    """A completions chunk as the chat chunk the client asked for (the role on the first one)."""
    chunk = json.loads(raw)
    choices = []
    for choice in chunk.get("choices") or []:
        delta = {"role": "assistant"} if first[0] else {}
        first[0] = False
        choices.append({"index": choice.get("index", 0), "delta": {**delta, "content": choice.get("text") or ""},
                        "finish_reason": choice.get("finish_reason"), "logprobs": None})
    return {**chunk, "object": "chat.completion.chunk", "choices": choices}
