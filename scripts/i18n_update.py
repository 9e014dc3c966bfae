"""Bring the web UI's Italian catalogue up to date with the strings the pages mark.

    .venv/bin/python scripts/i18n_update.py

Reads every _("…"), tr(request)("…") and N_("…") in hub/templates, hub/routes/web*.py, hub/*.py and
policy/, adds the new ones to hub/locale/it/LC_MESSAGES/messages.po with an empty translation, drops the ones
no page uses any more, keeps every translation already made, and lists what still needs one
(tests/ui/test_i18n.py fails while anything does).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from aperto.hub.i18n import LOCALE_DIR, marked

HUB = Path(__file__).resolve().parents[1] / "src" / "aperto" / "hub"


def sources() -> list[Path]:
    # the policy's reasons and the hub's errors are shown on the pages too (routes/web_format.py says them)
    return (sorted((HUB / "templates").glob("*.html")) + sorted((HUB / "routes").glob("web*.py"))
            + sorted(p for p in HUB.glob("*.py") if p.name != "i18n.py")  # i18n.py shows the markers in use
            + sorted((HUB.parent / "policy").glob("*.py")))


def msgids() -> dict[str, list[tuple[str, int]]]:
    """msgid -> where it is used (file, line), in order of first use."""
    found: dict[str, list[tuple[str, int]]] = {}
    for path in sources():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for msgid in marked(line):
                found.setdefault(msgid, []).append((str(path.relative_to(HUB)), number))
    return found


def main() -> int:
    po = LOCALE_DIR / "it" / "LC_MESSAGES" / "messages.po"
    old = {}
    if po.exists():
        with open(po, "rb") as f:
            old = {m.id: m.string for m in read_po(f, locale="it") if m.id}
    cat = Catalog(locale="it", project="aperto hub", fuzzy=False)
    for msgid, where in msgids().items():
        cat.add(msgid, old.get(msgid, ""), locations=where[:3])
    with open(po, "wb") as f:
        write_po(f, cat, width=110, omit_header=False)
    missing = [m.id for m in cat if m.id and not m.string]
    for msgid in missing:
        print(f"untranslated: {msgid}")
    print(f"{len(cat)} strings, {len(missing)} untranslated -> {po}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
