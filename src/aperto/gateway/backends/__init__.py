"""Backends by name. A backend module registers its class with ``@register("name")``;
the built-in ones are imported lazily so the fake one costs nothing and llama.cpp
is only loaded when a model uses it."""

from __future__ import annotations

import importlib

from aperto.config import Settings
from aperto.errors import BadInput
from aperto.gateway.backends.base import END, Backend, Channel, Chunk

__all__ = ["END", "Backend", "Channel", "Chunk", "register", "create"]

REGISTRY: dict[str, type[Backend]] = {}
BUILTIN = {"llamacpp": "aperto.gateway.backends.llamacpp", "upstream": "aperto.gateway.backends.upstream",
           "fake": "aperto.gateway.backends.fake"}


def register(name: str):
    def wrap(cls: type[Backend]) -> type[Backend]:
        cls.name = name
        REGISTRY[name] = cls
        return cls
    return wrap


def create(spec: dict[str, str], settings: Settings) -> Backend:
    name = spec.get("backend", "llamacpp")
    if name not in REGISTRY and name in BUILTIN:
        importlib.import_module(BUILTIN[name])
    if name not in REGISTRY:
        raise BadInput(f"unknown gateway backend {name!r}", hint="known: " + ", ".join(sorted(BUILTIN)))
    return REGISTRY[name](spec, settings)
