"""Real-world licence files from public repositories and packages (tests/data/licenses-wild).

Each file's label comes from reading it (MANIFEST.tsv says where it came from and why it
has its label); none of them is a copy of ../shared/licenses or a text the fingerprints
were built from. Alternatives are separated by "|": a file holding several licences may
honestly be answered with any of them.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from aperto.licenses.identify import ALTERED, IDENTIFIED, UNKNOWN, identify_path

WILD = Path(__file__).resolve().parents[1] / "data" / "licenses-wild"
ROWS = list(csv.DictReader((WILD / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t"))


def test_the_collection_has_at_least_100_files_with_a_source_and_a_reason() -> None:
    assert len(ROWS) >= 100
    for row in ROWS:
        assert (WILD / row["path"]).is_file(), row["path"]
        assert row["source"].strip() and row["reason"].strip(), row["path"]


def test_no_file_is_a_copy_of_the_shared_corpus(shared_dir: Path) -> None:
    shared = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (shared_dir / "licenses").rglob("*") if p.is_file()}
    copies = [r["path"] for r in ROWS if hashlib.sha256((WILD / r["path"]).read_bytes()).hexdigest() in shared]
    assert copies == []


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["path"])
def test_each_real_world_file(row: dict[str, str]) -> None:
    found = identify_path(WILD / row["path"])
    ids = row["expected_id"].split("|")
    statuses = row["expected_status"].split("|")
    # never confidently wrong: a named licence that the file is not
    if found.status in (IDENTIFIED, ALTERED):
        assert found.id in ids, f"{found.id} {found.status}; the file is {row['expected_id']}: {row['reason']}"
    assert found.status in statuses, f"{found.status} {found.notes}; expected {row['expected_status']}"
    if found.status == UNKNOWN:
        assert found.id is None
