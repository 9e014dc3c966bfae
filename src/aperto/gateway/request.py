"""What a client may ask of a model: an allowlist of OpenAI's request fields, each checked as
OpenAI checks it. Backends get only these fields, so engine-specific knobs (llama.cpp's
``n_predict``, ``n_probs``, ``grammar``...) cannot override ``max_tokens`` or anything else."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from aperto.errors import BadInput


def _number(low: float, high: float) -> Callable[[str, Any], Any]:
    def check(name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or not low <= value <= high:
            raise BadInput(f"'{name}' must be a number from {low:g} to {high:g}, got {value!r}", param=name)
        return value
    return check


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadInput(f"'{name}' must be a positive integer, got {value!r}", param=name)
    return value


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 1 << 63:
        raise BadInput(f"'{name}' must be an integer, got {value!r}", param=name)
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadInput(f"'{name}' must be true or false, got {value!r}", param=name)
    return value


def _n(name: str, value: Any) -> int:
    if value != 1 or isinstance(value, bool):
        raise BadInput("only n=1 is supported; send one request per completion", param=name)
    return 1


def _stop(name: str, value: Any) -> Any:
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or len(stops) > 4 or not all(isinstance(s, str) and s for s in stops):
        raise BadInput("'stop' must be a non-empty string or a list of up to 4 of them", param=name)
    return stops


def _stream_options(name: str, value: Any) -> dict[str, bool]:
    if not isinstance(value, dict) or not isinstance(value.get("include_usage", False), bool):
        raise BadInput("'stream_options' must be an object like {\"include_usage\": true}", param=name)
    return {"include_usage": value.get("include_usage", False)}


def _logit_bias(name: str, value: Any) -> dict[str, float]:
    if not isinstance(value, dict) or len(value) > 300:
        raise BadInput("'logit_bias' must be an object of at most 300 token ids to numbers", param=name)
    for token, bias in value.items():
        if not token.isdigit():
            raise BadInput(f"'logit_bias' keys are token ids, got {token!r}", param=name)
        _number(-100, 100)(name, bias)
    return value


CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "max_tokens": _positive_int, "temperature": _number(0, 2), "top_p": _number(0, 1), "stop": _stop,
    "stream": _bool, "stream_options": _stream_options, "seed": _int, "n": _n,
    "presence_penalty": _number(-2, 2), "frequency_penalty": _number(-2, 2), "logit_bias": _logit_bias,
    "ignore_eos": _bool,  # an extension (llama.cpp, vLLM): run to max_tokens, which still bounds the work
}
# OpenAI fields that change nothing about the answer: accepted, not passed on
IGNORED = {"user", "metadata", "store", "service_tier", "parallel_tool_calls"}
ROLES = {"system", "developer", "user", "assistant"}


def _messages(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise BadInput("'messages' must be a non-empty list of message objects", param="messages")
    out = []
    for i, message in enumerate(value):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str) or message["role"] not in ROLES:
            raise BadInput(f"messages[{i}] must be an object whose 'role' is one of {sorted(ROLES)}",
                           param=f"messages[{i}].role")
        content = message.get("content")
        if isinstance(content, list):  # text parts only
            if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                       for p in content):
                raise BadInput(f"messages[{i}].content may hold only text parts ({{'type': 'text', 'text': ...}})",
                               param=f"messages[{i}].content")
            content = "".join(p["text"] for p in content)
        if content is None and message["role"] == "assistant":
            content = ""
        if not isinstance(content, str):
            raise BadInput(f"messages[{i}].content must be a string or a list of text parts",
                           param=f"messages[{i}].content")
        role = "system" if message["role"] == "developer" else message["role"]
        out.append({"role": role, "content": content})
    return out


def _prompt(value: Any) -> str:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, list):
        raise BadInput(f"this gateway completes one prompt per request, got a list of {len(value)}",
                       hint="send one request per prompt", param="prompt")
    if not isinstance(value, str):
        raise BadInput("'prompt' must be a string (token ids are not accepted)", param="prompt")
    return value


def clean(route: str, body: dict[str, Any]) -> dict[str, Any]:
    """The request as backends get it: known fields only, each checked. Unknown fields are refused, so a
    client never believes a setting took effect when it did not."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadInput("'model' is required", param="model")
    out: dict[str, Any] = {"model": model}
    if route == "chat":
        out["messages"] = _messages(body.get("messages"))
    else:
        out["prompt"] = _prompt(body.get("prompt"))
    tokens = body.get("max_completion_tokens")
    if tokens is not None:
        out["max_tokens"] = _positive_int("max_completion_tokens", tokens)
    for name, value in body.items():
        if name in ("model", "messages", "prompt", "max_completion_tokens") or name in IGNORED or value is None:
            continue
        check = CHECKS.get(name)
        if check is None:
            raise BadInput(f"unsupported parameter {name!r}", param=name,
                           hint="accepted: " + ", ".join(["model", "messages" if route == "chat" else "prompt",
                                                          "max_completion_tokens", *CHECKS]))
        out[name] = check(name, value)
    return out


def prompt_chars(request: dict[str, Any]) -> int:
    if "prompt" in request:
        return len(request["prompt"])
    return sum(len(m["content"]) for m in request["messages"])


# the OpenAPI shape of the routes that read their JSON themselves; clean() above checks every field
SCHEMAS: dict[str, Any] = {
    "model": {"type": "string"},
    "messages": {"type": "array", "items": {"type": "object", "required": ["role", "content"], "properties": {
        "role": {"enum": ["system", "developer", "user", "assistant"]}, "content": {"type": "string"}}}},
    "prompt": {"type": "string"}, "max_tokens": {"type": "integer", "minimum": 1},
    "temperature": {"type": "number", "minimum": 0, "maximum": 2}, "top_p": {"type": "number", "minimum": 0,
                                                                             "maximum": 1},
    "stream": {"type": "boolean"}, "stop": {"type": "array", "items": {"type": "string"}, "maxItems": 4},
    "seed": {"type": "integer"}, "n": {"type": "integer", "enum": [1]},
    "repo": {"type": ["string", "null"]}, "reason": {"type": "string"},
}
FIELDS = {"messages": ["model", "messages", "max_tokens", "temperature", "top_p", "stream", "stop", "seed", "n"],
          "prompt": ["model", "prompt", "max_tokens", "temperature", "top_p", "stream", "stop", "seed", "n"],
          "reason": ["repo", "reason"], None: ["repo"]}


def body_schema(required: str | None = None) -> dict[str, Any]:
    """The OpenAPI requestBody of a route that reads its JSON itself."""
    fields = FIELDS[required]
    schema = {"type": "object", "properties": {name: SCHEMAS[name] for name in fields},
              "required": ([] if required is None else [required]) + (["model"] if "model" in fields else [])}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
