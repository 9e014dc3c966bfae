"""Fingerprints of the reference licence texts, and how to build them.

The shipped file ``data/_signatures.json`` holds, per reference text, no licence
text at all except a few short phrases:

- ``h``/``t``: crc32 hashes of sampled 5-word shingles and their token
  position in the reference; these measure coverage and locate gaps and insertions;
- ``anchors``: a few 5-word phrases found in this (family, version) and in no
  other, so 98-99% alike versions (Llama 3.x) are told apart by what differs;
- ``numbers``: key numbers with three words either side ("700 million" users),
  so a changed threshold is reported as such;
- ``terms``: where each sentence carrying a term (parties, grant, governing law,
  naming, termination, prohibited use, obligation) lies, with at most a dozen
  of its words as the official wording (see ``clauses``), so a changed or
  removed clause is reported by its term with both wordings.

Rebuild it from the shared corpus plus the extra references (see
docs/identification.md, "Rebuilding the fingerprints") with
``python -m aperto.licenses.fingerprints /work/shared/licenses /tmp/refs/extra``.
"""

from __future__ import annotations

import bisect
import csv
import functools
import json
import re
import sys
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from aperto.licenses import clauses
from aperto.licenses.normalize import SHINGLE, TOKEN, mask_markup, shingles, tokenize

DATA_FILE = Path(__file__).resolve().parent / "data" / "_signatures.json"
MAGNITUDE = {"million", "billion", "thousand", "hundred", "percent"}
OPTIONAL = re.compile(r"by clicking [^.]{0,300}\.", re.I)
NOT_ANCHORS = {"http", "https", "www", "com", "copyright", "original"}  # URLs and overlay headers vary


@dataclass(frozen=True)
class Signature:
    ref: str                      # corpus path of the reference text (provenance only)
    family: str
    version: str
    document: str                 # license | acceptable-use-policy
    hashes: tuple[int, ...]
    positions: tuple[int, ...]    # token index in the reference, same order as hashes
    anchors: tuple[tuple[str, ...], ...]
    numbers: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]
    n_words: int
    optional: frozenset[int] = frozenset()   # sample indices inside click-through sentences
    whole: int = 0                # crc32 of every word outside copyright lines: an exact copy's fast path
    anchor_positions: tuple[int, ...] = ()   # token index of each anchor in this reference
    # term sentences: (kind, sentence first, end, wording first, end, the official wording) in reference tokens
    terms: tuple[tuple[str, int, int, int, int, str], ...] = ()


@dataclass(frozen=True)
class Index:
    signatures: tuple[Signature, ...]
    by_hash: dict[int, tuple[int, ...]]   # shingle hash -> indices of signatures that sample it
    distinct: tuple[int, ...]             # number of distinct sampled shingles, per signature
    by_whole: dict[int, int]              # whole-text hash -> index of the first signature with it


@functools.cache
def load() -> Index:
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    sigs = []
    for r in raw["signatures"]:
        sigs.append(Signature(
            ref=r["ref"], family=r["family"], version=r["version"], document=r["document"],
            hashes=tuple(r["h"]), positions=tuple(r["t"]),
            anchors=tuple(tuple(a.split()) for a in r["anchors"]),
            numbers=tuple((tuple(n[0].split()), tuple(n[1].split()), tuple(n[2].split())) for n in r["numbers"]),
            n_words=r["n_words"], optional=frozenset(r.get("opt", ())), whole=r.get("whole", 0),
            anchor_positions=tuple(r.get("ap", ())),
            terms=tuple((k, a, b, wa, wb, w) for k, a, b, wa, wb, w in r.get("terms", ())),
        ))
    by_hash: dict[int, list[int]] = defaultdict(list)
    for i, s in enumerate(sigs):
        for h in set(s.hashes):
            by_hash[h].append(i)
    by_whole: dict[int, int] = {}
    for i, s in enumerate(sigs):
        by_whole.setdefault(s.whole, i)
    return Index(tuple(sigs), {h: tuple(v) for h, v in by_hash.items()},
                 tuple(len(set(s.hashes)) for s in sigs), by_whole)


def whole_hash(text: str) -> int:
    """crc32 of a text's words, leaving out those on copyright lines (who holds it is never a term).

    Regular expressions only, no token offsets: the cheap first look at every file a scan reads."""
    return whole_hash_masked(mask_markup(text))


def whole_hash_masked(masked: str) -> int:
    """whole_hash of a text already masked (see normalize.mask_markup)."""
    kept = _COPYRIGHT_LINE.sub(" ", masked)
    return zlib.crc32(" ".join(TOKEN.findall(kept)).lower().encode("utf-8"))


def version_of(family: str) -> str:
    """The version string of a family's latest reference text ("" when unversioned or unknown)."""
    versions = [s.version for s in load().signatures if s.family == family and s.document == "license"]
    return max(versions, default="")


# ---- building (a maintainer's step, run against the corpus) ----

def _version_key(version: str) -> str:
    return version.split(" (")[0].strip().lower()


def _document_kind(note: str, path: str) -> str:
    # decided from the corpus file name and note: the texts' own headings are too varied
    name = path.lower()
    if any(m in name for m in ("use_policy", "acceptable-use", "usage-restrictions", "gemma-pup")):
        return "acceptable-use-policy"
    if "acceptable use policy despite" in note.lower():
        return "acceptable-use-policy"
    return "license"


def _numbers(words: list[str]) -> list[list[str]]:
    out: list[list[str]] = []
    seen: set[str] = set()
    i, n = 0, len(words)
    while i < n:
        if not (any(c.isdigit() for c in words[i]) or words[i] in MAGNITUDE):
            i += 1
            continue
        j = i
        while j + 1 < n and (any(c.isdigit() for c in words[j + 1]) or words[j + 1] in MAGNITUDE):
            j += 1
        span = words[i:j + 1]
        left, right = words[max(i - 3, 0):i], words[j + 1:j + 4]
        significant = any(len(w) >= 2 and w.isdigit() for w in span) or any(w in MAGNITUDE for w in span)
        context = left + span + right
        if significant and len(left) == 3 and len(right) == 3 and "copyright" not in context \
                and not any(any(c.isdigit() for c in w) for w in left + right):
            key = " ".join(left) + "|" + " ".join(right)
            if key not in seen:
                seen.add(key)
                out.append([" ".join(left), " ".join(span), " ".join(right)])
        i = j + 1
    return out[:40]


_COPYRIGHT_LINE = re.compile(r"^[ \t]*(?:copyright\b|\(c\)|©).*$", re.I | re.M)


def copyright_tokens(text: str, starts: list[int]) -> set[int]:
    """Token indices on copyright lines: who holds the copyright is never a term, so it is not sampled."""
    out: set[int] = set()
    for m in _COPYRIGHT_LINE.finditer(text):
        out.update(range(bisect.bisect_left(starts, m.start()), bisect.bisect_left(starts, m.end())))
    return out


def _position(words: list[str], phrase: list[str]) -> int:
    k = len(phrase)
    return next((i for i in range(len(words) - k + 1) if words[i:i + k] == phrase), -1)


def _rows(corpora: list[Path]) -> list[tuple[Path, dict[str, str]]]:
    """Every manifest row of every corpus; rows of corpora after the first get the corpus name in their ref."""
    out = []
    for n, corpus in enumerate(corpora):
        for row in csv.DictReader((corpus / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t"):
            ref = row["relative_path"] if n == 0 else f"{corpus.name}:{row['relative_path']}"
            out.append((corpus / row["relative_path"], {**row, "ref": ref}))
    return out


def build(corpora: list[Path]) -> dict[str, object]:
    rows = []
    refs = []
    optional_of: list[set[int]] = []
    holders: list[set[int]] = []
    texts: list[str] = []
    term_rows: list[list[clauses.Term]] = []
    for path, row in _rows(corpora):
        rows.append(row)
        text = path.read_text(encoding="utf-8", errors="replace")
        words = tokenize(text).words
        toks = tokenize(text)
        optional: set[int] = set()
        # click-through acceptance sentences: gated web forms drop them, the terms are unchanged
        for m in OPTIONAL.finditer(text):
            inside = [k for k, st in enumerate(toks.starts) if m.start() <= st < m.end()]
            if inside:
                optional.update(range(max(inside[0] - SHINGLE + 1, 0), inside[-1] + 1))
        refs.append((row, words, shingles(words)))
        optional_of.append(optional)
        holders.append(copyright_tokens(text, toks.starts))
        texts.append(text)
        term_rows.append(clauses.terms_of(text, toks, holders[-1]))

    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    docs = [_document_kind(r.get("note", ""), r["relative_path"]) for r, _, _ in refs]
    for i, (row, _, _) in enumerate(refs):
        groups[(row["license_family_id"], _version_key(row["version"]), docs[i])].append(i)
    # which (family, version) each shingle occurs in
    owners: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for row, _, sh in refs:
        fv = (row["license_family_id"], _version_key(row["version"]))
        for h in set(sh):
            owners[h].add(fv)

    anchors_of: dict[tuple[str, str, str], list[str]] = {}
    for key, members in groups.items():
        fv = (key[0], key[1])
        common = set.intersection(*(set(refs[i][2]) for i in members))
        row, words, sh = refs[members[0]]
        picked: list[tuple[int, str]] = []
        candidates = [(pos, h) for pos, h in enumerate(sh) if h in common and owners[h] == {fv}
                      and not holders[members[0]] & set(range(pos, pos + SHINGLE))]
        # versions and dates first, then phrases spread over the text
        digits = [c for c in candidates if any(ch.isdigit() for w in words[c[0]:c[0] + SHINGLE] for ch in w)]
        spread = candidates[:: max(len(candidates) // 6, 1)]
        for pos, _h in digits[:4] + spread:
            if len(picked) >= 8:
                break
            if all(abs(pos - p) >= SHINGLE for p, _ in picked) and not NOT_ANCHORS & set(words[pos:pos + SHINGLE]):
                picked.append((pos, " ".join(words[pos:pos + SHINGLE])))
        anchors_of[key] = [a for _, a in sorted(picked)]

    signatures = []
    for i, (row, words, sh) in enumerate(refs):
        step = max(1, min(4, len(sh) // 100))
        hs: list[int] = []
        ps: list[int] = []
        opt: list[int] = []
        for pos in range(0, len(sh), step):
            if "copyright" in words[pos:pos + SHINGLE] or holders[i] & set(range(pos, pos + SHINGLE)):
                continue
            if pos in optional_of[i]:
                opt.append(len(hs))
            hs.append(sh[pos])
            ps.append(pos)
        key = (row["license_family_id"], _version_key(row["version"]), docs[i])
        signatures.append({
            "ref": row["ref"], "family": row["license_family_id"], "version": row["version"],
            "document": docs[i], "n_words": len(words), "h": hs, "t": ps, "opt": opt,
            "anchors": anchors_of[key], "numbers": _numbers(words),
            "ap": [_position(words, a.split()) for a in anchors_of[key]],
            "whole": whole_hash(texts[i]),
            "terms": [list(t) for t in term_rows[i]],
        })
    return {"shingle": SHINGLE, "hash": "crc32", "signatures": signatures}


def main(argv: list[str]) -> int:
    corpora = [Path(a) for a in argv] or [Path("/work/shared/licenses")]
    data = build(corpora)
    DATA_FILE.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    sigs = data["signatures"]
    assert isinstance(sigs, list)
    print(f"wrote {DATA_FILE} with {len(sigs)} signatures")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

