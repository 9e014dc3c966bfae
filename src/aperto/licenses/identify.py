"""Identify a licence from a text, a model card, GGUF metadata or a whole model folder.

Text is tokenised (see ``normalize``) and its 5-word shingles are looked up in
the fingerprints of the reference texts (see ``fingerprints``). The reference
whose sampled shingles are best covered, plus a bonus for its version-specific
anchor phrases, is the candidate. Then the *pattern* of what is missing decides
the status: a missing tail is a truncated copy (identified, lower confidence);
a gap in the middle, a changed key number or a thin coverage is ``altered``;
too little in common is ``unknown``, never a guess.

Evidence spans always point into the caller's own text (or file bytes).
"""

from __future__ import annotations

import bisect
import copy
import functools
import hashlib
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aperto.errors import BadInput, TooLarge
from aperto.licenses import clauses, fingerprints, revisions
from aperto.licenses import reading as reading_mod
from aperto.licenses.normalize import (
    SHINGLE,
    Tokens,
    mask_markup,
    phrase_words,
    shingle_hash,
    shingles,
    tokenize_masked,
)

MAX_TEXT_BYTES = 10 * 1024 * 1024      # a licence or card larger than this is not one
IDENTIFIED, ALTERED, UNKNOWN, CONFLICT = "identified", "altered", "unknown", "conflict"
PARAPHRASED, TRANSLATION = "paraphrased", "translation"
EXIT_CODES = {IDENTIFIED: 0, UNKNOWN: 20, ALTERED: 21, CONFLICT: 22, PARAPHRASED: 23, TRANSLATION: 24}

MIN_COVERAGE = 0.25      # below this (and without anchors) a text is unknown
MOST_OF = 0.45           # "altered X" needs at least this much of X's text (or most of its terms)
FULL_COVERAGE = 0.97     # at or above this nothing is missing worth reporting
MAX_REPEATS = 256         # occurrences of one shingle considered (bounds the cost on repetitive input)
MIN_INSERT = 8           # words added inside the licence that make it a different text
MAX_HEAD = 0.15          # a missing opening up to this share of the reference is a title or preamble
REWRITE_TAIL = 0.2       # unmatched words after the last match, as a share of the reference: a rewrite, not a cut
MIN_DENSITY = 0.5        # below this, most of the text around the matches is foreign to the reference
DENSITY_WEIGHT = 1.0     # how much unexplained text inside the matched region lowers a candidate's score
# words that make an added passage operative (a term), not navigation or commentary
OPERATIVE = frozenset({"may", "must", "shall", "not", "only", "prohibited", "license", "licence", "licensee",
                       "permitted", "rights", "grant", "granted", "terminate", "commercial", "never", "required",
                       "provided", "notice", "condition", "conditions", "subject", "agree", "except"})
_FRONT_MATTER = re.compile(r"\A\ufeff?(?:[ \t]*\r?\n)*---[ \t]*\r?\n")   # a model card's YAML block opens with a line of exactly ---
OFFICIAL_GOVERNS = "the official text governs: this copy is not the licence itself"
TAIL_NOTE = 0.05         # a missing tail longer than this is reported as truncation


@dataclass
class Evidence:
    source: str
    start: int
    end: int
    text: str
    why: str


@dataclass
class Identification:
    id: str | None
    version: str = ""
    document: str = "license"
    confidence: float = 0.0
    status: str = UNKNOWN
    evidence: list[Evidence] = field(default_factory=list)
    differences: list[dict[str, Any]] = field(default_factory=list)
    sources: list[Identification] = field(default_factory=list)
    governing: str | None = None
    source: str = "text"
    kind: str = "license-text"       # license-text | model-card | gguf | folder | declaration
    notes: list[str] = field(default_factory=list)
    language: str = ""               # for a translation: ISO 639-1 code
    revision: str = ""               # the official document revision matched (its date), where known
    resembles: str | None = None     # for unknown texts: the closest family, a hint only

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["confidence"] = round(self.confidence, 3)
        body["sources"] = [s.to_dict() for s in self.sources]
        return body


def difference(kind: str, why: str, start: int = 0, end: int = 0, text: str = "", term: str = "",
               official: str = "", copy: str = "") -> dict[str, Any]:
    """One difference from the official text. `term`: the kind of term it changes (governing-law, naming,
    parties, grant, ...); `official` and `copy`: the official wording and this copy's ("" where absent)."""
    return {"kind": kind, "start": start, "end": end, "text": text, "why": why, "term": term,
            "official": official, "copy": copy}


# ---------------------------------------------------------------- text

def identify_text(text: str, source: str = "text", evidence: bool = True) -> Identification:
    """Identify a licence (or acceptable-use policy) from its text.

    evidence=False skips locating evidence in a word-for-word copy (a scan over many files)."""
    index = fingerprints.load()
    masked = mask_markup(text)       # once: the whole-text hash and the tokens both read it
    best = index.by_whole.get(fingerprints.whole_hash_masked(masked))
    if best is not None:
        return _exact(text, masked, index.signatures[best], source, evidence)
    return _identify_tokens(text, tokenize_masked(masked), source)


def _exact(text: str, masked: str, sig: fingerprints.Signature, source: str, evidence: bool) -> Identification:
    """A word-for-word copy of a reference (formatting and copyright lines aside): no alignment needed."""
    result = Identification(sig.family, version=sig.version, document=sig.document, source=source,
                            status=IDENTIFIED, confidence=1.0, revision=revisions.date_of(sig.ref))
    if evidence:
        tokens = tokenize_masked(masked)
        anchors = [_find(tokens.words, list(a)) for a in sig.anchors]
        _add_evidence(result, text, tokens, sig, anchors, [], 1.0)
        result.evidence.append(Evidence(source, tokens.starts[0], tokens.ends[-1],
                                        _shorten(text[tokens.starts[0]:tokens.ends[-1]]),
                                        f"the whole text is word for word the reference text of {sig.family}"))
    return result


def _identify_tokens(text: str, tokens: Tokens, source: str, exclude: str | None = None) -> Identification:
    index = fingerprints.load()
    hashes = shingles(tokens.words)
    where: dict[int, int] = {}
    every: dict[int, list[int]] = {}
    for pos, h in enumerate(hashes):
        where.setdefault(h, pos)
        every.setdefault(h, []).append(pos)
    if not where:
        return _unmatched(text, tokens, source, Identification(None, source=source, notes=["too short to identify"]))

    hits: Counter[int] = Counter()
    for h in where:
        for i in index.by_hash.get(h, ()):
            hits[i] += 1
    ranked = sorted(hits, key=lambda i: hits[i] / index.distinct[i], reverse=True)
    scored = []
    top = hits[ranked[0]] / index.distinct[ranked[0]] if ranked else 0.0
    # exact (ordered) coverage only for the references that stand a chance
    for i in [i for i in ranked[:24] if hits[i] / index.distinct[i] >= 0.6 * top]:
        sig = index.signatures[i]
        if exclude is not None and sig.ref == exclude:
            continue
        upos = _in_order(sig.hashes, every)
        found = [u >= 0 for u in upos]
        coverage = sum(found) / len(found)
        anchors = [where.get(shingle_hash(a), -1) for a in sig.anchors]
        anchor_frac = sum(p >= 0 for p in anchors) / len(anchors) if anchors else 0.0
        score = coverage + 0.3 * anchor_frac - DENSITY_WEIGHT * (1 - _density(upos))
        scored.append((score, coverage, anchor_frac, i, upos, anchors))
    if not scored:
        return _unmatched(text, tokens, source, Identification(None, source=source,
                                                               notes=["no known licence text in common"]))
    # on a tie the longer reference wins: a licence with its AUP appended is the licence
    scored.sort(key=lambda s: (round(s[0], 3), index.signatures[s[3]].n_words), reverse=True)
    pick = scored[0]
    if index.signatures[pick[3]].document != "license":
        # a licence with its acceptable-use policy after it is the licence, not the policy
        family = index.signatures[pick[3]].family
        pick = next((s for s in scored if index.signatures[s[3]].family == family
                     and index.signatures[s[3]].document == "license" and s[1] >= 0.8), pick)
    pick, also = _several(pick, scored, index)
    _score, coverage, anchor_frac, best, upos, anchors = pick
    sig = index.signatures[best]
    n_anchors = sum(p >= 0 for p in anchors)
    if coverage < MIN_COVERAGE and not (n_anchors >= 2 or (n_anchors and coverage >= 0.1)):
        unknown = Identification(None, source=source, resembles=sig.family if coverage >= 0.05 else None,
                                 notes=[f"closest reference {sig.family} shares only {coverage:.0%} of its text"])
        return _unmatched(text, tokens, source, unknown)

    result = Identification(sig.family, version=sig.version, document=sig.document, source=source,
                            revision=revisions.date_of(sig.ref))
    _add_evidence(result, text, tokens, sig, anchors, upos, coverage)
    _analyse(result, text, tokens, sig, upos, coverage)
    # the anchors inside the part of the reference this text covers (a truncated copy lacks the rest)
    span = [sig.positions[k] for k, u in enumerate(upos) if u >= 0]
    inside = [(p, " ".join(a)) for p, a, at in zip(anchors, sig.anchors, sig.anchor_positions, strict=False)
              if span[0] <= at <= span[-1]]
    if result.status == IDENTIFIED and len(inside) >= 2 and sum(p >= 0 for p, _a in inside) < 0.5 * len(inside):
        # the wording is there but not the phrases only this licence has (its name, version, parties):
        # a sibling licence built from the same template names another product or licensor
        result.status, result.confidence = ALTERED, round(0.4 + 0.5 * coverage * anchor_frac, 3)
        result.differences.append(difference(
            "changed", f"only {sum(p >= 0 for p, _a in inside)} of the {len(inside)} phrases that name {sig.family} "
                       f"{sig.version} (its product, version or parties) are here".rstrip(), term="parties",
            official="; ".join(a for p, a in inside if p < 0)))
        result.notes.append("imitates the licence but its terms differ: treat it as a different licence")
    result.notes.extend(f"the file also holds the full text of {f}" for f in also)
    if result.status == ALTERED and (coverage < MOST_OF or _density(upos) < MIN_DENSITY):
        reading = reading_mod.read(text, tokens.words, sig.family, reading_mod.language(tokens.words))
        if len(reading.found) <= len(reading.missing):
            # too little of the licence is there to call this text a changed copy of it
            return Identification(None, source=source, resembles=sig.family, notes=[
                f"resembles {sig.family} {sig.version}".rstrip() + f" ({coverage:.0%} of its text), but most of "
                "its terms are not there: treat it as an unknown licence and read it"])
    # versions 98-99% alike: say so when the runner-up is another version of the same family
    for other in scored[1:]:
        osig = index.signatures[other[3]]
        if osig.family != sig.family and other[1] >= coverage - 0.02 and other[2] >= anchor_frac:
            result.notes.append(f"almost as close to {osig.family} {osig.version}".rstrip())
            result.confidence *= 0.8
            break
    return result


def _several(pick: Any, scored: list[Any], index: fingerprints.Index) -> tuple[Any, list[str]]:
    """A file holding several complete licences (a project's LICENSE with its bundled parts' licences).

    The first complete one in the file is the answer; the others are named in notes."""
    def region(s: Any) -> tuple[int, int]:
        positions = [u for u in s[4] if u >= 0]
        return min(positions), max(positions)

    full = [s for s in scored if s[1] >= FULL_COVERAGE - 0.02 and _density(s[4]) >= 0.9]
    if pick not in full:
        return pick, []
    disjoint = [s for s in full if s is pick or region(s)[0] > region(pick)[1] or region(s)[1] < region(pick)[0]]
    first = min(disjoint, key=lambda s: region(s)[0])
    names = []
    for s in disjoint:
        family = index.signatures[s[3]].family
        if s is not first and family != index.signatures[first[3]].family and family not in names:
            names.append(family)
    return first, names


def _density(upos: list[int]) -> float:
    """Share of the user's words inside the matched region that the matched shingles explain.

    Low when the text holds much that the reference does not (an ISC text against
    the shorter 0BSD, a long text that merely quotes a licence's phrases)."""
    positions = sorted(u for u in upos if u >= 0)
    if not positions:
        return 0.0
    covered = 0
    reach = -1
    for u in positions:
        covered += min(SHINGLE, u + SHINGLE - 1 - reach) if u > reach else max(0, u + SHINGLE - 1 - reach)
        reach = max(reach, u + SHINGLE - 1)
    span = positions[-1] + SHINGLE - positions[0]
    return min(1.0, covered / span)


def _unmatched(text: str, tokens: Tokens, source: str, result: Identification) -> Identification:
    """No verbatim match: a translation (or an English rewrite) still shows its terms through anchors."""
    lang = reading_mod.language(tokens.words)
    reading = reading_mod.best_reading(text, tokens.words, lang)
    if reading is None:
        return result
    if lang == "en" and not reading.keeps_terms():
        # English that names the licence but lacks its operative terms is about it, not a version of it
        result.resembles = result.resembles or reading.family
        return result
    lic_version = fingerprints.version_of(reading.family)
    found = Identification(reading.family, version=lic_version, source=source, language=lang if lang != "en" else "",
                           status=TRANSLATION if lang != "en" else PARAPHRASED)
    found.confidence = round(0.3 + 0.4 * len(reading.found) / (len(reading.found) + len(reading.missing)), 3)
    what = f"a {reading.language_name} translation" if lang != "en" else "a rewrite in other words"
    found.notes.append(f"{what} of {reading.family}: {OFFICIAL_GOVERNS}")
    found.notes.append("terms found: " + "; ".join(f"{a.label} ({a.expected})" for a in reading.found))
    for a in reading.missing:
        found.differences.append(difference("missing", f"the {a.label} of {reading.family} ({a.expected}) was not found",
                                            term=a.label, official=a.expected))
    return found


def _in_order(hashes: tuple[int, ...], every: dict[int, list[int]]) -> list[int]:
    """Which sampled shingles occur in the user's text in the reference's order.

    The longest chain of matches increasing in both texts (a longest increasing
    subsequence), so a stray repeat of a common phrase elsewhere does not hide
    a missing tail or a removed clause."""
    tails: list[int] = []          # smallest user position ending a chain of each length
    tail_node: list[int] = []
    nodes: list[tuple[int, int]] = []   # (sample index, previous node)
    node_pos: list[int] = []
    for k, h in enumerate(hashes):
        # descending, so two positions of one sample never chain together
        for pos in reversed(every.get(h, ())[:MAX_REPEATS]):
            j = bisect.bisect_left(tails, pos)
            nodes.append((k, tail_node[j - 1] if j else -1))
            node_pos.append(pos)
            if j == len(tails):
                tails.append(pos)
                tail_node.append(len(nodes) - 1)
            else:
                tails[j] = pos
                tail_node[j] = len(nodes) - 1
    out = [-1] * len(hashes)     # user token position of each sample in the chain, -1 if none
    node = tail_node[-1] if tail_node else -1
    while node >= 0:
        k, prev = nodes[node]
        out[k] = node_pos[node]
        node = prev
    return out


def _snippet(text: str, tokens: Tokens, first: int, last: int) -> tuple[int, int, str]:
    last = min(last, len(tokens) - 1)
    start, end = tokens.span(first, last)
    return start, end, text[start:end]


def _add_evidence(result: Identification, text: str, tokens: Tokens, sig: fingerprints.Signature,
                  anchors: list[int], upos: list[int], coverage: float) -> None:
    label = f"{sig.family} {sig.version}".strip()
    for pos in sorted(p for p in anchors if p >= 0)[:5]:
        start, end, snip = _snippet(text, tokens, pos, pos + SHINGLE - 1)
        result.evidence.append(Evidence(result.source, start, end, snip, f"phrase found only in {label}"))
    for left, num, right in sig.numbers:
        pos = _find(tokens.words, list(left + num + right))
        if pos >= 0 and len(result.evidence) < 8:
            start, end, snip = _snippet(text, tokens, pos, pos + len(left) + len(num) + len(right) - 1)
            result.evidence.append(Evidence(result.source, start, end, snip, f"key number of {label}"))
    positions = [u for u in upos if u >= 0]
    if positions:
        start, _e, _s = _snippet(text, tokens, min(positions), min(positions))
        _s2, end, _t = _snippet(text, tokens, max(positions), max(positions) + SHINGLE - 1)
        result.evidence.append(Evidence(result.source, start, end, _shorten(text[start:end]),
                                        f"this region matches {coverage:.0%} of the reference text of {label}"))


def _shorten(s: str, keep: int = 60) -> str:
    s = " ".join(s.split())
    return s if len(s) <= 2 * keep + 5 else f"{s[:keep]} ... {s[-keep:]}"


def _find(words: list[str], phrase: list[str], start: int = 0) -> int:
    k = len(phrase)
    i = start
    while phrase:
        try:
            i = words.index(phrase[0], i)
        except ValueError:
            return -1
        if words[i:i + k] == phrase:
            return i
        i += 1
    return -1


def _analyse(result: Identification, text: str, tokens: Tokens, sig: fingerprints.Signature,
             upos: list[int], coverage: float) -> None:
    """Decide identified / altered from where the missing (or added) parts are."""
    found = [u >= 0 for u in upos]
    n = len(found)
    first = found.index(True)
    last = n - 1 - found[::-1].index(True)
    # a missing tail may hold a few stray hits (common phrases): the longest sparse suffix is the tail
    min_gap = max(3, round(0.02 * n))
    hits = 0
    cut = 0                  # the start of the longest such suffix
    for k in range(n - 1, first, -1):
        hits += found[k]
        if n - k >= min_gap and hits <= 0.1 * (n - k):
            cut = k
    if cut:
        last = max((j for j in range(first, cut) if found[j]), default=first)
    gaps: list[tuple[int, int]] = []
    small: list[tuple[int, int]] = []    # one or two shingles lost: a word changed there
    run_start = None
    for k in range(first, last + 1):
        if not found[k] and run_start is None:
            run_start = k
        elif found[k] and run_start is not None:
            if not all(j in sig.optional for j in range(run_start, k)):
                (small if _substitution(sig, upos, run_start, k - 1, min_gap) else gaps).append((run_start, k - 1))
            run_start = None
    interior = found[first:last + 1]
    interior_cov = sum(interior) / len(interior)

    for a, b in list(gaps):
        if a and b + 1 < n and "copyright" in tokens.words[max(upos[a - 1] - SHINGLE, 0):upos[b + 1] + SHINGLE]:
            gaps.remove((a, b))
            result.notes.append("a copyright notice differs from the reference's; it is not a term")
    for a, b in gaps:
        before = upos[a - 1]
        after = upos[b + 1]
        start, _e, _s = _snippet(text, tokens, before, before + SHINGLE - 1)
        end = tokens.ends[min(after + SHINGLE - 1, len(tokens) - 1)]
        words = round((b - a + 1) / n * sig.n_words)
        where = f"({_pct(sig, a)}-{_pct(sig, b)} of it)"
        removed = clauses.within(sig.terms, sig.positions[a - 1] + SHINGLE, sig.positions[b + 1])
        for term in removed[:5]:
            result.differences.append(difference(
                "missing", f"a {term[0]} clause of the official text is not in this copy {where}",
                start, end, _shorten(text[start:end]), term=term[0], official=term[5]))
        if not removed:
            result.differences.append(difference(
                "missing", f"about {words} words of the reference text are missing here {where}",
                start, end, _shorten(text[start:end])))
    result.differences.extend(_changed_terms(text, tokens, sig, upos, small))
    # many scattered word changes (another name swapped in throughout) make a different text too
    if len(small) >= max(3, round(0.02 * n)):
        for a, b in small[:5]:
            start = tokens.starts[upos[a - 1]]
            end = tokens.ends[min(upos[b + 1] + SHINGLE - 1, len(tokens) - 1)]
            result.differences.append(difference(
                "changed", f"words differ from the reference text here (one of {len(small)} such places)",
                start, end, _shorten(text[start:end])))
    # text added inside the licence: user tokens between two consecutive matches beyond the reference's;
    # only operative words make it a term (a rendering adds headings and navigation, never obligations)
    matched = [k for k in range(first, last + 1) if found[k]]
    for k1, k2 in zip(matched, matched[1:], strict=False):
        extra = (upos[k2] - upos[k1]) - (sig.positions[k2] - sig.positions[k1])
        if extra >= MIN_INSERT:
            start = tokens.ends[min(upos[k1] + SHINGLE - 1, len(tokens) - 1)]
            end = tokens.starts[upos[k2]]
            added = set(tokens.words[upos[k1] + SHINGLE:upos[k2]])
            if not added & OPERATIVE or "copyright" in added:
                result.notes.append(f"about {extra} words of non-operative text were added at {_pct(sig, k1)}")
                continue
            kind, _at = clauses.classify(tokens.words[upos[k1] + SHINGLE:upos[k2]])
            what = f"a {kind} clause" if kind else f"about {extra} words"
            result.differences.append(difference(
                "added", f"{what} here that the official text does not have (at {_pct(sig, k1)} of it)",
                start, end, _shorten(text[start:end]), term=kind, copy=_shorten(text[start:end], 150)))
    for left, num, right in sig.numbers:
        change = _changed_number(tokens, list(left), list(num), list(right))
        if change is not None:
            start, end, snip = _snippet(text, tokens, change[0], change[1])
            official = " ".join(left + num + right)
            copy_start, copy_end, _c = _snippet(text, tokens, max(change[0] - len(left), 0), change[1] + len(right))
            result.differences.append(difference(
                "changed", f"expected '{official}'", start, end, snip, term="number", official=official,
                copy=" ".join(text[copy_start:copy_end].split())))
    if first > max(min_gap, MAX_HEAD * n):
        result.differences.append(difference("missing", f"the first {_pct(sig, first)} of the reference text is missing"))
    elif first > min_gap:
        result.notes.append(f"the opening ({_pct(sig, first)} of the reference: title or preamble) is absent; "
                            "it holds no terms")

    tail = (n - 1 - last) / n
    after = len(tokens) - (upos[last] + SHINGLE)      # the user's words after the last match
    rewrite = tail >= TAIL_NOTE and after >= max(40, REWRITE_TAIL * tail * sig.n_words)
    span = upos[last] + SHINGLE - upos[first]
    reworded = interior_cov < 0.6 and span >= 0.7 * (sig.positions[last] - sig.positions[first] + SHINGLE)
    if rewrite or reworded:
        # the opening (or scattered phrases) verbatim, the rest in other words: a paraphrase if the terms survive
        reading = reading_mod.read(text, tokens.words, sig.family, "en")
        if reading.keeps_terms():
            result.status = PARAPHRASED
            result.confidence = round(0.3 + 0.4 * coverage, 3)
            result.notes.append(f"keeps the structure of {sig.family} but not its words: {OFFICIAL_GOVERNS}")
            for anchor in reading.missing:
                result.differences.append(difference("missing", f"the {anchor.label} ({anchor.expected}) was not found",
                                                     term=anchor.label, official=anchor.expected))
            return
        result.differences.append(difference("rewritten", f"after {_pct(sig, last)} of the reference the text goes on "
                                                          "in other words, and its key terms are not there",
                                             tokens.starts[upos[last]], len(text)))
    if result.differences or interior_cov < 0.85:
        result.status = ALTERED
        if interior_cov < 0.85:
            result.differences.append(difference("abridged", f"only {interior_cov:.0%} of the reference text is present"))
        result.confidence = round(min(0.95, 0.4 + 0.5 * coverage), 3)
        result.notes.append("imitates the licence but its terms differ: treat it as a different licence")
        return
    result.status = IDENTIFIED
    result.confidence = 0.5 + 0.5 * min(1.0, coverage / FULL_COVERAGE)
    if tail >= TAIL_NOTE:
        result.notes.append(f"truncated: the last {tail:.0%} of the reference text is missing")
        result.confidence = min(result.confidence, 0.5 + 0.4 * (1 - tail))


def _changed_terms(text: str, tokens: Tokens, sig: fingerprints.Signature, upos: list[int],
                   small: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """Words changed in place inside a term's official wording (the law's place, the naming prefix, a party):
    the term changed, whatever the rest of the text says. Both wordings are given."""
    out = []
    for a, b in small:
        if a == 0 or b + 1 >= len(upos):
            continue
        lo, hi = sig.positions[a - 1] + SHINGLE, sig.positions[b + 1]
        if (upos[b + 1] - upos[a - 1]) - (hi - sig.positions[a - 1]) >= MIN_INSERT:
            continue          # words inserted, not changed: reported as an added clause
        # before the change the two texts are offset by `left`, after it by `right`
        left, right = upos[a - 1] - sig.positions[a - 1], upos[b + 1] - sig.positions[b + 1]
        for kind, _sa, _sb, wa, wb, wording in clauses.within(sig.terms, min(lo, hi - 1), max(hi, lo + 1),
                                                              clauses.IN_PLACE, share=0):
            first, last = max(wa + left, 0), min(wb + right, len(tokens)) - 1
            if last < first:
                continue
            start, end = tokens.starts[first], tokens.ends[last]
            copy = " ".join(text[start:end].split())
            if _find(tokens.words[first:last + 1], phrase_words(wording)) >= 0:
                continue      # the official words are all there: the change lies just outside them
            out.append(difference("changed", f"the {kind} clause reads differently from the official text",
                                  start, end, copy, term=kind, official=wording, copy=copy))
    return out


def _substitution(sig: fingerprints.Signature, upos: list[int], a: int, b: int, min_gap: int) -> bool:
    """A run of lost samples that is a word or two changed in place, not a passage removed.

    Both texts keep about the same number of words between the matches either
    side ("and/or distribute" for "and distribute"); a removed clause leaves the
    user's side much shorter."""
    if b - a + 1 < min_gap:
        return True
    if a == 0 or b + 1 >= len(upos) or upos[a - 1] < 0 or upos[b + 1] < 0:
        return False
    ref_gap = sig.positions[b + 1] - sig.positions[a - 1]
    user_gap = upos[b + 1] - upos[a - 1]
    return ref_gap <= 2 * SHINGLE + 2 and abs(user_gap - ref_gap) <= 3


def _pct(sig: fingerprints.Signature, k: int) -> str:
    return f"{100 * sig.positions[k] / max(sig.n_words, 1):.0f}%"


def _changed_number(tokens: Tokens, left: list[str], num: list[str], right: list[str]) -> tuple[int, int] | None:
    """Where the context of a key number survives with a different number in it."""
    words = tokens.words
    if _find(words, left + num + right) >= 0:
        return None
    i = _find(words, left)
    while i >= 0:
        j = i + len(left)
        for k in range(1, 4):
            middle = words[j:j + k]
            if words[j + k:j + k + len(right)] == right and middle != num and all(
                    any(c.isdigit() for c in w) or w in fingerprints.MAGNITUDE for w in middle):
                return j, j + k - 1
        i = _find(words, left, i + 1)
    return None


# ---------------------------------------------------------------- files

def read_text_file(path: Path) -> str:
    """A text file's contents, or a clear BadInput/TooLarge."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}", hint="check the path") from None
    if size > MAX_TEXT_BYTES:
        raise TooLarge(f"{path} is {size / 1e6:.0f} MB, too large for a licence or model card",
                       hint=f"pass the LICENSE or README.md itself (limit {MAX_TEXT_BYTES // 2**20} MiB)")
    data = path.read_bytes()
    if not data.strip():
        raise BadInput(f"{path} is empty", hint="pass a file that holds the licence text or model card")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with a BOM (Windows editors)
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:8192]:
        raise BadInput(f"{path} looks binary, not a licence text, model card or GGUF file",
                       hint="pass a LICENSE text, a README.md, a .gguf file or a model folder")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\r\n\t\f")
        if controls > 8:
            raise BadInput(f"{path} looks binary, not a licence text, model card or GGUF file",
                           hint="pass a LICENSE text, a README.md, a .gguf file or a model folder") from None
        return text


def identify_gguf(path: str | Path) -> Identification:
    from aperto.licenses.gguf import identify_gguf as _gguf

    return _gguf(Path(path))


def identify_card(text: str, source: str = "README.md") -> Identification:
    from aperto.licenses.cards import identify_card as _card

    return _card(text, source)


def identify_path(path: str | Path, evidence: bool = True,
                  memo: dict[tuple[str, bytes], Identification] | None = None) -> Identification:
    """A LICENSE file, a model card, a GGUF file or a model folder (all of them at once).

    memo: the results of text files already read in this scan, by file name and content (a zoo holds the
    same LICENSE and card many times, and the answer depends on nothing else); a repeat gets a deep copy."""
    p = Path(path)
    if p.is_dir():
        from aperto.licenses.folder import identify_folder

        return identify_folder(p)
    if not p.exists():
        raise BadInput(f"{p} does not exist", hint="check the path")
    with p.open("rb") as fh:
        magic = fh.read(4)
    if magic == b"GGUF" or p.suffix.lower() == ".gguf":
        return identify_gguf(p)
    text = read_text_file(p)
    if memo is None:
        return _identify_file_text(text, p.name, evidence)
    key = (p.name, hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
    if key in memo:
        return copy.deepcopy(memo[key])
    memo[key] = _identify_file_text(text, p.name, evidence)
    return memo[key]


def _identify_file_text(text: str, name: str, evidence: bool) -> Identification:
    if is_card(text):
        return identify_card(text, source=name)
    return identify_text(text, source=name, evidence=evidence)


def is_card(text: str) -> bool:
    """A model card: a text that opens with a YAML front-matter line of exactly ---."""
    return _FRONT_MATTER.match(text) is not None


@functools.cache
def exit_code_help() -> str:
    return ", ".join(f"{code} {status}" for status, code in EXIT_CODES.items())
