"""A zoo scan identifies each distinct (name, content) once; every copy still gets its own, equal answer."""

from __future__ import annotations

import shutil
from pathlib import Path

from aperto.licenses.identify import identify_path
from aperto.licenses.scan import scan


def test_repeated_files_get_the_same_answers_as_alone(shared_dir: Path, tmp_path: Path) -> None:
    llama = shared_dir / "licenses" / "meta-llama" / "llama3_1_LICENSE.txt"
    text = llama.read_text(encoding="utf-8")
    for model in ("a", "b", "c"):
        (tmp_path / model).mkdir()
        shutil.copy(llama, tmp_path / model / "LICENSE")
    # same text under another name, and a changed copy under the same name
    (tmp_path / "a" / "LICENSE.txt").write_text(text, encoding="utf-8")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "LICENSE").write_text(text.replace("700 million", "7 billion"), encoding="utf-8")

    items = list(scan([tmp_path], recursive=True))
    assert len(items) == 5
    for item in items:
        assert item.result is not None
        assert item.result.to_dict() == identify_path(item.path, evidence=False).to_dict(), item.path
    results = [item.result for item in items]
    assert len({id(r) for r in results}) == len(results)        # copies, not one shared object
    by_path = {Path(item.path).relative_to(tmp_path).as_posix(): item.result for item in items}
    assert by_path["d/LICENSE"] is not None and by_path["d/LICENSE"].status == "altered"
    assert by_path["b/LICENSE"] is not None and by_path["b/LICENSE"].status == "identified"
