"""The zygote forks the next child before its sample is known: that child must start clean.

One worker, so consecutive samples run in consecutive (pre-forked) children of the same zygote.
"""

from __future__ import annotations

import os

import pytest
from evals_helpers import add_job

from aperto.evals.sandbox import Job, Sandbox

PROBE_TEST = "\n\ndef check(candidate):\n    assert candidate() == []\n"


def probe_job(body: str) -> Job:
    """A sample whose function returns the traces of earlier samples it can find (none, to pass)."""
    return Job("toy/probe", "def probe():\n    \"\"\"Traces of earlier samples.\"\"\"\n", body, PROBE_TEST, "probe", 2.0)


CLEAN = """    import builtins, os, sys, glob
    found = []
    if hasattr(builtins, "LEAK") or "leaky_module" in sys.modules or os.environ.get("LEAK"):
        found.append("state")
    found += [p for p in glob.glob("/tmp/**", recursive=True) if "planted" in p]
    found += [p for p in os.listdir(".")]
    return found
"""

HOSTILE = [
    # leave state behind in the interpreter, the environment and the file system
    "    import builtins, os, sys, types\n    builtins.LEAK = 1\n    os.environ['LEAK'] = '1'\n"
    "    sys.modules['leaky_module'] = types.ModuleType('leaky_module')\n"
    "    open('planted', 'w').write('x')\n    open('/tmp/planted', 'w').write('x')\n    return [1]\n",
    # plant scratch folders where the next child's might go, then die hard
    "    import os\n    for n in range(50):\n        os.makedirs(f'/tmp/sample-{n}-planted', exist_ok=True)\n"
    "    os.abort()\n",
    # leave a descendant behind (fork is denied; try anyway) and exhaust the time limit
    "    import os\n    try:\n        os.fork()\n    except OSError:\n        pass\n    while True:\n        pass\n",
]


@pytest.fixture(scope="module")
def one_worker():
    with Sandbox(workers=1, memory_mb=512) as box:
        yield box


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_sample_leaves_nothing_for_the_next_child(one_worker, hostile):
    bad = one_worker.run(probe_job(hostile))
    assert bad.verdict != "passed"
    after = one_worker.run(probe_job(CLEAN))
    assert (after.verdict, after.error, after.detail) == ("passed", None, "")
    assert one_worker.run(add_job("    return a + b\n")).passed


def test_prefork_children_are_fresh_and_distinct(one_worker):
    # the child reports itself through its exception's text (the only thing that reaches the outcome)
    body = "    import os\n    raise ValueError(f'{os.getpid()} {os.getcwd()} {os.getuid()} {sorted(os.listdir())}')\n"
    seen = []
    for _ in range(5):
        out = one_worker.run(probe_job(body))
        assert (out.verdict, out.error) == ("failed", "ValueError")
        pid, cwd, uid, listing = out.detail.split(" ", 3)
        assert cwd.startswith("/tmp/sample-") and listing == "[]"
        assert uid == ("65534" if os.getuid() == 0 else "0")  # without root: uid 0 of a user namespace, no capabilities
        seen.append((pid, cwd))
    assert len({cwd for _, cwd in seen}) == 5


def test_the_time_limit_is_the_samples_own(one_worker):
    # the child is forked before its limit is known: the CPU limit must still be the job's
    loop = "    while True:\n        pass\n"
    out = one_worker.run(add_job(loop, timeout=0.5))
    assert out.verdict == "timeout"
    assert out.duration < 3.0
