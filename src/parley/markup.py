"""Knowledge-base articles from Markdown to HTML that is safe to show, and to plain text.

Two layers, so that neither alone has to be right:

1. markdown-it-py renders CommonMark (plus tables and strikethrough) with raw HTML turned off:
   a ``<script>`` typed into an article is shown as text, and its link validator drops
   ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` URLs;
2. nh3 (the ammonia sanitizer) then keeps only ``ALLOWED_TAGS`` with ``ALLOWED_ATTRIBUTES``,
   links to http, https and mailto only (relative ones refused), every link with
   ``rel="noopener noreferrer nofollow"`` and ``target="_blank"``; no images (an external
   image would tell its host who reads the article), no style, no class, no id.

The HTML is made once, when an article is saved, and kept; the console and the widget show it
through one component each (``ArticleBody``), the only place either puts HTML into the page
(docs/security.md). ``plain`` is the text the full-text index and the excerpts read.
"""

from __future__ import annotations

import html as html_lib
from typing import Any

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s",
        "code", "pre", "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr",
        "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)
_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes=ALLOWED_ATTRIBUTES,
    link_rel=LINK_REL,
    url_schemes=set(URL_SCHEMES),
    url_relative="deny",
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)


def sanitize(html: str) -> str:
    """``html`` with only the allowed tags, attributes and link schemes."""
    return _cleaner.clean(html)


def render(markdown: str) -> str:
    """An article's body as HTML safe to put into a page."""
    return sanitize(_md.render(markdown))


def plain(markdown: str) -> str:
    """The words of an article's body without its markup (link targets left out), one space
    between blocks: what is indexed and excerpted."""
    out: list[str] = []

    def walk(tokens: list[Any]) -> None:
        for token in tokens:
            if token.children:
                walk(token.children)
            elif token.type in ("text", "code_inline"):
                out.append(token.content)
            elif token.type in ("code_block", "fence"):
                out.append(" " + token.content + " ")
            elif token.type in ("softbreak", "hardbreak") or (
                token.type.endswith("_close") and token.block
            ):
                out.append(" ")

    walk(_md.parse(markdown))
    return " ".join(html_lib.unescape("".join(out)).split())
