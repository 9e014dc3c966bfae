"""Schemathesis over every operation of an OpenAPI schema, in one test. Shared by the hub's and the
gateway's fuzz tests: schemathesis' own parametrize gives every operation the same test id, and
pytest-xdist (scripts/test) runs only one test per id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings


def fuzz_every_operation(schema: Any, check: Callable[[Any], None], *, examples: int,
                         derandomize: bool = False) -> int:
    """``check(case)`` on ``examples`` generated cases of each operation; the number of operations."""
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=derandomize, database=None)
        def fuzz(case: Any) -> None:
            check(case)

        fuzz()
    return operations
