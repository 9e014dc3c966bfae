"""Model cards: the YAML front matter (read the way huggingface_hub's ModelCard reads it) and
the body rendered to sanitised HTML (markdown-it-py, then nh3: no script, no style, links only
http(s) or relative, images only from the repo itself)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

import nh3
import yaml
from markdown_it import MarkdownIt

# leading whitespace, then a line of three dashes, the YAML, and a closing line of dashes
FRONT = re.compile(r"^\s*---[ \t]*\r?\n(.*?)(?:\r?\n)?---[ \t]*(?:\r?\n|$)", re.DOTALL)
TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "del", "details", "em", "h1", "h2", "h3", "h4", "h5",
        "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "summary", "sup", "table",
        "tbody", "td", "th", "thead", "tr", "ul"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
              "td": {"align"}, "th": {"align"}, "code": {"class"}}


def split(text: str) -> tuple[dict[str, Any], str]:
    """(metadata, body). Front matter that is not a YAML mapping is an error the caller reports."""
    match = FRONT.match(text)
    if not match:
        return {}, text
    data = yaml.safe_load(match.group(1)) if match.group(1).strip() else {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError("the model card's metadata must be a YAML mapping")
    return data, text[match.end():]


def metadata(text: str) -> dict[str, Any]:
    """The card's metadata, or {} when it cannot be read (the page still shows the body)."""
    try:
        return split(text)[0]
    except (ValueError, yaml.YAMLError):
        return {}


def _is_relative(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith("//")


def render(text: str, repo: str, revision: str) -> str:
    """The card's body as safe HTML. Relative images resolve to the repo's own files."""
    try:
        body = split(text)[1]
    except (ValueError, yaml.YAMLError):
        body = text
    md = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")
    html = md.render(body)

    def attribute(tag: str, name: str, value: str) -> str | None:
        if tag == "img" and name == "src":  # no image from elsewhere: no tracking pixels, no mixed content
            if not _is_relative(value) or value.startswith("/"):
                return None
            return f"/{repo}/resolve/{quote(revision, safe='')}/{value.removeprefix('./')}"
        if tag == "a" and name == "href":
            scheme = urlsplit(value).scheme.lower()
            return value if scheme in ("http", "https") or _is_relative(value) else None
        return value

    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes={"http", "https"},
                     attribute_filter=attribute, link_rel="noopener noreferrer nofollow")
