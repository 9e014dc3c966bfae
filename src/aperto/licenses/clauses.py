"""Which term a sentence of a licence carries, so a change can be named by its term.

The fingerprints keep, per reference text, a short phrase (at most ``WINDOW``
words) of each sentence that carries a term, with its token positions (see
``fingerprints``). Identification then reports a changed, removed or added
clause by its kind, with the official wording next to the copy's.
"""

from __future__ import annotations

import bisect
import re

from aperto.licenses.normalize import Tokens

WINDOW = 14          # words of official wording kept per term: enough to read, far from the whole clause
LEAD = 2             # of them, words before the mark ("by the laws of ...")
PER_TEXT = 60        # terms kept per reference text
_SENTENCE = re.compile(r"[^.;:!?\n]+(?:\n(?![ \t]*\n)[^.;:!?\n]+)*")

# (kind, word sequences that mark it); the first kind that matches a sentence is its kind
_MARKS: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("governing-law", (("laws", "of"), ("law", "of"), ("governed", "by"), ("courts", "of"), ("jurisdiction",))),
    ("naming", (("beginning", "of"), ("begin", "with"), ("beginning", "with"), ("start", "with"),
                ("starting", "with"), ("prefix",))),
    ("termination", (("terminate",), ("terminated",), ("termination",), ("terminates",))),
    ("grant", (("hereby", "grant"), ("hereby", "grants"), ("hereby", "granted"), ("grants", "you"),
               ("grant", "you"), ("is", "granted"), ("are", "granted"), ("permission", "is"))),
    ("prohibited-use", (("not", "use"), ("shall", "not"), ("will", "not"), ("may", "not"), ("must", "not"),
                        ("prohibited",), ("not", "permitted"))),
    ("obligation", (("must",), ("shall",), ("you", "will"), ("agree", "to"), ("provided", "that"),
                    ("required", "to"), ("subject", "to"))),
)
_PARTY_NAMES = frozenset({"licensor", "licensee", "we", "you", "us"})
_DEFINES = frozenset({"means", "refers", "mean", "meaning"})
KINDS = ("parties",) + tuple(k for k, _ in _MARKS) + ("definition",)
# a word changed in place inside these is a changed term; elsewhere it is wording ("and/or" for "and")
IN_PLACE = frozenset({"parties", "governing-law", "naming", "grant", "termination", "prohibited-use"})


def _at(words: list[str], seq: tuple[str, ...]) -> int:
    k = len(seq)
    return next((i for i in range(len(words) - k + 1) if tuple(words[i:i + k]) == seq), -1)


def classify(words: list[str]) -> tuple[str, int]:
    """The term kind of a sentence's words and where its mark is ("", -1 when it carries none we know)."""
    head = set(words[:8])
    if _DEFINES & head:
        # a definition: of a party, or of another word the terms use
        return ("parties" if _PARTY_NAMES & head else "definition"), 0
    if "name" in words or "names" in words:
        for seq in dict(_MARKS)["naming"]:
            if (at := _at(words, seq)) >= 0:
                return "naming", at
    for kind, marks in _MARKS:
        if kind == "naming":
            continue
        for seq in marks:
            if (at := _at(words, seq)) >= 0:
                return kind, at
    return "", -1


def sentences(text: str, tokens: Tokens) -> list[tuple[int, int]]:
    """Token ranges [first, last) of the text's sentences (clause ends, semicolons and blank lines cut them)."""
    out = []
    for m in _SENTENCE.finditer(text):
        a = bisect.bisect_left(tokens.starts, m.start())
        b = bisect.bisect_left(tokens.starts, m.end())
        if b - a >= 3:
            out.append((a, b))
    return out


Term = tuple[str, int, int, int, int, str]


def terms_of(text: str, tokens: Tokens, skip: set[int]) -> list[Term]:
    """[kind, sentence first, sentence end, window first, window end, official wording] per term sentence.

    `skip`: token indices on copyright lines (never a term)."""
    found: list[Term] = []
    for a, b in sentences(text, tokens):
        if a in skip:
            continue      # a copyright notice (a wrapped line that opens with "copyright" inside a clause is not)
        kind, at = classify(tokens.words[a:b])
        if not kind:
            continue
        wa = max(a, min(a + at - LEAD, b - WINDOW))     # near a sentence end, the words before it
        wb = min(b, wa + WINDOW)
        wording = " ".join(text[tokens.starts[wa]:tokens.ends[wb - 1]].split())
        found.append((kind, a, b, wa, wb, wording))
    # the specific kinds first when a long text has more term sentences than we keep
    order = {k: n for n, k in enumerate(KINDS)}
    kept = sorted(found, key=lambda t: order[t[0]])[:PER_TEXT]
    return sorted(kept, key=lambda t: t[1])


def within(terms: tuple[Term, ...], lo: int, hi: int, kinds: frozenset[str] | None = None,
           share: float = 0.5) -> list[Term]:
    """The terms with at least `share` of their official wording inside reference tokens [lo, hi)
    (share 0: any of it)."""
    out = []
    for t in terms:
        _kind, _a, _b, wa, wb, _w = t
        overlap = min(wb, hi) - max(wa, lo)
        if (kinds is None or t[0] in kinds) and overlap > 0 and overlap >= share * (wb - wa):
            out.append(t)
    return out
