from __future__ import annotations

import pytest
from evals_helpers import ADD_PROMPT, FakeEndpoint

from aperto.errors import Halted, Unavailable
from aperto.evals.dataset import Problem
from aperto.evals.generate import GenerationSettings, Generator

ADD = Problem("toy/add", ADD_PROMPT, "add", "")


def test_completion_mode_cuts_at_stops_even_if_the_server_ignores_them():
    server = FakeEndpoint({ADD_PROMPT: "    return a + b\n\n\nprint(add(1, 2))\n"})
    try:
        gen = Generator(server.url + "/v1", GenerationSettings("toy", temperature=0.8), api_key="k")
        completion, raw = gen.complete(ADD)
        gen.close()
    finally:
        server.close()
    assert completion == "    return a + b\n\n"
    assert raw.endswith("print(add(1, 2))\n")
    sent = server.requests[0]
    assert sent["model"] == "toy" and sent["temperature"] == 0.8 and sent["top_p"] == 0.95
    assert len(sent["stop"]) <= 4 and "\ndef " in sent["stop"]


def test_strip_prompt_sends_the_prompt_without_trailing_whitespace():
    server = FakeEndpoint({ADD_PROMPT.rstrip(): "\n    return a + b\n"})
    try:
        gen = Generator(server.url + "/v1", GenerationSettings("toy", strip_prompt=True))
        completion, _ = gen.complete(ADD)
        gen.close()
    finally:
        server.close()
    assert server.requests[0]["prompt"] == ADD_PROMPT.rstrip()
    assert ADD_PROMPT + completion == ADD_PROMPT + "    return a + b\n"


def test_a_halted_model_stops_the_run_at_once():
    server = FakeEndpoint({})
    server.halted = True
    try:
        gen = Generator(server.url + "/v1", GenerationSettings("toy"))
        with pytest.raises(Halted):
            gen.complete(ADD)
        gen.close()
    finally:
        server.close()
    assert len(server.requests) == 1


def test_an_unreachable_endpoint_is_unavailable(monkeypatch):
    monkeypatch.setattr("aperto.evals.generate.time.sleep", lambda s: None)
    gen = Generator("http://127.0.0.1:9/v1", GenerationSettings("toy"))
    with pytest.raises(Unavailable):
        gen.complete(ADD)
    gen.close()
