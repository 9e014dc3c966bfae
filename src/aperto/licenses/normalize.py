"""Text normalisation for identification, with an offset map back to the user's text.

Markup is masked in place (replaced by spaces of the same length), so offsets
never shift; then the text is cut into lower-case word tokens. Punctuation,
quotes (straight or curly), markdown marks and line breaks all vanish, which
makes reflowed, re-quoted or re-formatted copies tokenise the same way.
CJK characters are one token each, since those scripts have no spaces.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

# HTML tags, HTML comments, entities, the URL half of markdown links, the backslash
# escapes of YAML/JSON strings (a licence quoted in a card's front matter), list markers.
_MASK = re.compile(
    r"<!--.*?-->|</?[a-zA-Z][^<>]{0,500}>|&(?:[a-zA-Z]{2,8}|#\d{1,6}|#x[0-9a-fA-F]{1,6});|\]\([^()]{0,500}?\)"
    r"|\\[nrt]"
    # bare links and e-mail addresses: a licensor's revision that only moves its contact links is the same terms;
    # e-mail addresses and links without a scheme ("ai.google.dev/gemma/terms") share one scan of the word
    # (possessive: a plain word is given up at once instead of backtracking letter by letter)
    r"|\b(?:https?://|www\.)[^\s<>()\[\]]+"
    r"|\b[\w+-]++(?:(?:\.[\w+-]++)*+@[\w-]+(?:\.[\w-]+)+|(?:\.[\w+-]++)++(?<=[a-z][a-z])/[^\s<>()\[\]]*)"
    # list and clause markers ("1.", "a)", "(iv)"): copies renumber lists freely
    # (markdown escapes them: "1\." is "1.")
    r"|(?:(?<![\w.])|(?<=\\n))\(?(?:\d{1,2}|[a-zA-Z]|[ivxIVX]{2,4})\\?[.)](?=[\s\\])|\((?:\d{1,2}|[a-zA-Z]|[ivxIVX]{2,4})\)",
    re.S,
)
_CJK = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff"
TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")

SHINGLE = 5  # words per shingle: long enough to be specific, short enough to survive edits


@dataclass(frozen=True)
class Tokens:
    words: list[str]
    starts: list[int]
    ends: list[int]

    def __len__(self) -> int:
        return len(self.words)

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Character offsets (start, end) in the original text of tokens first..last inclusive."""
        return self.starts[first], self.ends[last]


# Where a _MASK match can start, found by fast scans for the rare characters each branch needs (trying
# _MASK at every position, as sub does, was most of a scan's time). Every start is one of: a "<&]\(";
# "http" or "www."; a word boundary in the run of [\w+.-] before the @ or / of an e-mail address or
# link (these never cross whitespace); the first letter or digit of a list marker, a word of at most
# four characters ending in "." or ")" (or right after a literal \n).
_STARTS = re.compile(r"[<&\]\\(]")                        # tags, entities, links, escapes, "(a)"
_LINK_END = re.compile(r"@(?<=[\w+-]@)|/(?<=[a-z][a-z]/)")  # where an e-mail or scheme-less link reaches its @ or /
_MARKER_END = re.compile(r"[.)](?=[\s\\])(?<!\w{5}[.)])(?<!\w{5}\\[.)])")  # a list marker's "." or ")"
_RUN_BACK = re.compile(r"[\w+.-]*")     # read on the reversed text: the run of an address before its @ or /
_WORD_BACK = re.compile(r"\w{0,4}")     # read on the reversed text: a marker's letters or digits
_RUN_BREAK = re.compile(r"[.+-]")


def _candidates(text: str) -> list[int]:
    """Every position where _MASK may match (a superset, unordered)."""
    out: list[int] = []
    add = out.append
    for m in _STARTS.finditer(text):
        add(m.start())
        if text[m.start()] == "\\":
            add(m.start() + 2)             # a list marker right after a literal \n
    for lit in ("http", "www."):
        q = text.find(lit)
        while q >= 0:
            add(q)
            q = text.find(lit, q + 1)
    rev = ""
    for m in _LINK_END.finditer(text):
        rev = rev or text[::-1]
        a = m.start()
        run = _back(_RUN_BACK, rev, a)
        add(run)
        for b in _RUN_BREAK.finditer(text, run, a):   # word boundaries inside the address
            add(b.start())
            add(b.end())
    for m in _MARKER_END.finditer(text):
        rev = rev or text[::-1]
        end = m.start() - 1 if text[m.start() - 1:m.start()] == "\\" else m.start()
        add(_back(_WORD_BACK, rev, end))
    return out


def _back(pattern: re.Pattern[str], rev: str, at: int) -> int:
    """Where the run of `pattern` that ends at `at` starts, read on `rev`, the reversed text."""
    m = pattern.match(rev, len(rev) - at)
    return at - len(m.group(0)) if m else at


def _markup_spans(text: str) -> list[tuple[int, int]]:
    """The spans _MASK.sub would replace: its leftmost, non-overlapping matches, tried only where one may start."""
    spans: list[tuple[int, int]] = []
    pos = 0
    match = _MASK.match
    for c in sorted(set(_candidates(text))):
        if c >= pos and (m := match(text, c)):
            spans.append((c, m.end()))
            pos = m.end()
    return spans


def mask_markup(text: str) -> str:
    """The text with every _MASK match replaced by as many spaces (the same as _MASK.sub, much faster)."""
    parts: list[str] = []
    last = 0
    for start, end in _markup_spans(text):
        parts += (text[last:start], " " * (end - start))
        last = end
    parts.append(text[last:])
    return "".join(parts)


def tokenize(text: str) -> Tokens:
    return tokenize_masked(mask_markup(text))


def tokenize_masked(masked: str) -> Tokens:
    """The tokens of a text already masked (masking keeps every offset, so they point into the text too)."""
    matches = list(TOKEN.finditer(masked))
    # one lower() over the joined words (no token holds a space, so splitting restores them)
    words = " ".join(TOKEN.findall(masked)).lower().split(" ") if matches else []
    return Tokens(words, [m.start() for m in matches], [m.end() for m in matches])


def phrase_words(phrase: str) -> list[str]:
    """A fingerprint phrase, tokenised the same way as the user's text."""
    return [m.group(0).lower() for m in TOKEN.finditer(mask_markup(phrase))]


def shingle_hash(words: list[str] | tuple[str, ...]) -> int:
    # crc32 is stable across runs (str.__hash__ is salted) and fast enough here
    return zlib.crc32(" ".join(words).encode("utf-8"))


def shingles(words: list[str]) -> list[int]:
    """Hash of every SHINGLE-word window, by starting position."""
    n = len(words) - SHINGLE + 1
    return [shingle_hash(words[i:i + SHINGLE]) for i in range(max(n, 0))]


def find_phrase(tokens: Tokens, phrase: list[str], start: int = 0) -> int:
    """Index of the first token where `phrase` occurs (token-wise), or -1."""
    if not phrase:
        return -1
    first, k = phrase[0], len(phrase)
    words = tokens.words
    i = start
    while True:
        try:
            i = words.index(first, i)
        except ValueError:
            return -1
        if words[i:i + k] == phrase:
            return i
        i += 1
