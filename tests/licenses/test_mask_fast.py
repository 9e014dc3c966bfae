"""mask_markup tries the markup pattern only where a match may start; it must equal the plain substitution."""

import random

from aperto.licenses.normalize import _MASK, mask_markup

PIECES = list("ab1x2iIvVX9.()[]<>&;#!-@/\\n \n\t:+_whtps,\"'*") + [
    "http://", "https://", "www.", "<!--", "-->", "](", "&amp;", "&#12;", "\\n", "\\r", "é", "中", "٣", "a.b",
    "ii.", "ab.cd/", "x@y.z", "<a href=x>", "](http://a.b)", "12.", "(iv)", "iv.", "\\1\\.", "and/or"]


def plain(text: str) -> str:
    return _MASK.sub(lambda m: " " * len(m.group(0)), text)


def test_same_as_the_plain_substitution_on_random_markup() -> None:
    rnd = random.Random(18)
    for _ in range(20000):
        text = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 60)))
        assert mask_markup(text) == plain(text), text


def test_same_on_a_licence_like_text() -> None:
    text = ("1. Definitions.\n(a) \"You\" means <b>you</b> &amp; yours; see https://example.com/x and "
            "ai.google.dev/gemma/terms or write to legal@example.com.\\n2\\. Grant. (iv) and/or II. done.\n"
            "<!-- a comment\nover lines --> [the link](http://x.y/z) e-mail: a.b+c-d@e-f.org.")
    assert mask_markup(text) == plain(text)
    assert "legal@example.com" not in mask_markup(text) and "<b>" not in mask_markup(text)
