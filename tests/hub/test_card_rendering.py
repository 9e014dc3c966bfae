"""Model cards: front matter read like huggingface_hub's ModelCard, the body rendered and
sanitised, and shown on the model page."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hubtools import LLAMA_CARD, People, publish

from aperto.hub import cards

hf = pytest.importorskip("huggingface_hub")
from huggingface_hub import ModelCard  # noqa: E402

CARDS = [
    "---\nlicense: mit\n---\n# A\n",
    "\n\n   \n---\nlicense: mit\ntags: [a, b]\n---\nbody\n",  # whitespace before the front matter
    "# No front matter\n---\nnot: metadata\n---\n",
    "---\n---\nempty metadata\n",
    "---\r\nlicense: apache-2.0\r\n---\r\nwindows\r\n",
]


@pytest.mark.parametrize("text", CARDS)
def test_front_matter_like_huggingface_hub(text: str) -> None:
    assert cards.split(text)[0] == (ModelCard(text).data.to_dict() or {})


def test_front_matter_that_is_not_a_mapping_is_an_error() -> None:
    with pytest.raises(ValueError):
        cards.split("---\n- a\n- b\n---\n")
    assert cards.metadata("---\n- a\n---\n") == {} and cards.metadata("---\nkey: [\n---\n") == {}


def test_render_keeps_tables_code_and_repo_images_and_drops_the_rest() -> None:
    html = cards.render(
        "---\nlicense: mit\n---\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```\n\n"
        "![local](img/plot.png) ![remote](https://tracker.example/p.gif) ![data](data:image/png;base64,AAAA)\n\n"
        "[site](https://example.org) [doc](docs/a.md) [bad](javascript:alert(1)) [mail](mailto:x@y.z)\n\n"
        "<script>alert(1)</script><img src=x onerror=alert(1)><a href=\"javascript:x\">raw</a>\n",
        "acme/m", "0" * 40)
    assert "<table>" in html and "<td>1</td>" in html and '<code class="language-python">' in html
    assert f'src="/acme/m/resolve/{"0" * 40}/img/plot.png"' in html
    assert "tracker.example" not in html and "data:image" not in html
    assert 'href="https://example.org"' in html and 'href="docs/a.md"' in html
    # raw HTML in a card is shown as text, never as markup
    assert "<script" not in html and '<img src="x"' not in html and "&lt;script&gt;" in html
    assert '<a href="javascript' not in html and '<a href="mailto' not in html
    assert "license: mit" not in html

def test_model_page_shows_the_card_and_a_licence_conflict(people: People, client: TestClient) -> None:
    card = LLAMA_CARD + "\n| col | val |\n|---|---|\n| x | 1 |\n\n<script>alert('owned')</script>\n"
    apache = (Path(__file__).parents[1] / "data" / "licenses-wild" / "debian" / "Apache-2.0").read_bytes()
    publish(people.hub, people.alice, "acme/carded", {"README.md": card.encode(), "LICENSE": apache})
    page = client.get("/models/acme/carded").text
    assert "<h1>Tiny Llama</h1>" in page and "<td>x</td>" in page
    assert "<script>alert(" not in page
    assert 'id="licence-conflict"' in page
    people.hub.repos.withdraw(people.hub.tokens.authenticate(people.alice), "acme/carded", "dispute")
    assert "<h1>Tiny Llama</h1>" not in client.get("/models/acme/carded").text
