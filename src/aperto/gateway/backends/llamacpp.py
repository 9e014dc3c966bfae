"""llama.cpp in process, through xllamacpp.

xllamacpp's handlers block and call back in the calling thread, once per chunk;
returning True from the callback aborts the generation there and then. So each
request runs in a worker thread, chunks cross to the event loop through the
request's Channel, and the callback returns True as soon as the channel is
stopped (client gone, kill, revocation): llama.cpp stops working for it."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aperto.bundled import smollm2_gguf
from aperto.errors import BadInput, TooLarge
from aperto.gateway.backends import register
from aperto.gateway.backends.base import Backend, Channel


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
        self.server = xllamacpp.Server(params)
        # requests beyond the slots wait inside llama.cpp, so give them threads to wait in; the event
        # loop starts them, so they inherit its short scheduler slice (gateway/slices.py)
        self.pool = ThreadPoolExecutor(max_workers=max(64, parallel * 4), thread_name_prefix="llamacpp")
        self._lock = threading.Lock()
        self.callbacks = 0  # chunks llama.cpp produced (tests and the bench count these)
        self.late = 0  # callbacks that arrived after a stop (each one is answered with abort)

    async def generate(self, route: str, body: dict[str, Any], out: Channel) -> None:
        handler = self.server.handle_chat_completions if route == "chat" else self.server.handle_completions
        failure: list[Any] = []
        # JSON in, JSON out: xllamacpp then hands over each chunk as the bytes llama.cpp wrote,
        # which the gateway sends on as they are (no dict built and serialized again per token)
        raw = json.dumps(body).encode()

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
                out.put(chunk)
            except RuntimeError:  # the event loop is gone (shutdown): nobody is listening
                return True
            return None

        def run() -> Any:
            try:
                return handler(raw, callback)
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
        server, self.server = self.server, None
        del server


