"""The threads that relay tokens ask for a short scheduler slice; llama.cpp's compute threads keep
the kernel's default. Where the kernel has no custom slices (before Linux 6.12), nothing changes."""

from __future__ import annotations

import asyncio
import os
import platform
import re
import threading
from pathlib import Path
from typing import Any

from gwkit import settings_for

from aperto.gateway.backends import Backend, register
from aperto.gateway.core import Gateway
from aperto.gateway.slices import current_slice_ns, request_short_slice


def kernel_has_custom_slices() -> bool:
    found = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return (platform.system() == "Linux" and platform.machine() in ("x86_64", "aarch64") and found is not None
            and (int(found[1]), int(found[2])) >= (6, 12))


def in_fresh_thread(fn: Any) -> Any:
    """Run fn in a new thread: a thread's slice is inherited, so tests must not share one."""
    out: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: out.update(value=fn()))
    thread.start()
    thread.join(30)
    return out["value"]


def test_a_thread_gets_the_slice_it_asks_for_and_passes_it_on():
    def run() -> tuple[bool, int | None, int | None, int | None]:
        before = current_slice_ns()
        applied = request_short_slice(250)  # not the gateway's 100: other tests may have set that
        child = in_fresh_thread(current_slice_ns)
        return applied, before, current_slice_ns(), child

    applied, before, after, child = in_fresh_thread(run)
    if kernel_has_custom_slices():
        assert applied and after == child == 250_000
        assert before != 250_000
    else:
        assert not applied and after == before


def test_zero_leaves_the_default():
    def run() -> tuple[bool, int | None, int | None]:
        before = current_slice_ns()
        return request_short_slice(0), before, current_slice_ns()

    applied, before, after = in_fresh_thread(run)
    assert not applied and after == before


class SliceProbe(Backend):
    """Records the slice of the thread that loads it and of a thread it starts, as llama.cpp starts
    its compute threads while a model loads."""

    seen: list[int | None] = []

    def __init__(self, spec: dict[str, str], settings: Any) -> None:
        super().__init__(spec, settings)
        SliceProbe.seen = [current_slice_ns(), in_fresh_thread(current_slice_ns)]

    async def generate(self, route: str, body: dict[str, Any], out: Any) -> None:
        raise NotImplementedError


register("sliceprobe")(SliceProbe)


def test_model_threads_keep_the_default_and_the_event_loop_gets_the_short_slice(tmp_path: Path,
                                                                                policy_file: Path):
    settings = settings_for(tmp_path, policy_file=policy_file, gateway_model="",
                            gateway_models={"probe/model": {"backend": "sliceprobe"}}, gateway_relay_slice_us=300)

    def run() -> tuple[int | None, bool, int | None]:
        async def main() -> tuple[int | None, bool, int | None]:
            default = current_slice_ns()
            gateway = Gateway(settings)
            await gateway.start()
            try:
                return default, gateway.short_slice, current_slice_ns()
            finally:
                await gateway.close()
        return asyncio.run(main())

    default, applied, loop_slice = in_fresh_thread(run)
    assert SliceProbe.seen == [default, default]  # what llama.cpp would start keeps the default
    if kernel_has_custom_slices():
        assert applied and loop_slice == 300_000 != default
    else:
        assert not applied and loop_slice == default
