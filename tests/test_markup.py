"""Articles from Markdown to HTML safe to show (``parley.markup``): markup in bodies is
escaped or removed, links are http(s)/mailto only and open with rel=noopener."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from parley import markup


def test_markdown_renders_the_allowed_tags() -> None:
    html = markup.render(
        "# Title\n\n**bold** _em_ ~~gone~~ `code`\n\n- one\n- two\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |"
    )
    for tag in ("<h1>", "<strong>", "<em>", "<s>", "<code>", "<ul>", "<li>", "<table>", "<td>"):
        assert tag in html


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def tags_of(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "<a href='javascript:alert(1)'>x</a>",
        "<iframe src='https://evil.example'></iframe>",
        "<svg onload=alert(1)>",
        "![x](https://tracker.example/pixel.png)",
        '<div style="position:fixed">x</div>',
        '[x](https://ok.example/" onmouseover="alert(1))',
    ],
)
def test_markup_in_bodies_is_neutralised(body: str) -> None:
    for tag, attrs in tags_of(markup.render(body)):
        assert tag in markup.ALLOWED_TAGS, body
        for name, value in attrs:
            assert name in {"href", "title", "target", "rel", "start", "align"}, body
            if name == "href":
                assert (value or "").startswith(("https:", "http:", "mailto:")), body


def test_links_open_in_a_new_tab_without_an_opener() -> None:
    html = markup.render(
        "[Help](https://help.example/a?b=1) [mail](mailto:help@example.com) [rel](/x)"
    )
    assert (
        '<a href="https://help.example/a?b=1" target="_blank" rel="noopener noreferrer nofollow">'
        in html
    )
    assert 'href="mailto:help@example.com"' in html
    assert 'href="/x"' not in html  # relative links are refused


def test_sanitize_alone_keeps_only_the_allowlist() -> None:
    assert (
        markup.sanitize('<p onclick="x" class="c" id="i">hi</p><style>p{}</style>') == "<p>hi</p>"
    )


def test_plain_text_is_the_words_without_markup_or_link_targets() -> None:
    assert markup.plain(
        "# Refunds\n\nSee [the form](https://x.example/f) **now**.\n\n- a\n- b"
    ) == ("Refunds See the form now. a b")
    assert markup.plain("A &amp; B <b>x</b>") == "A & B <b>x</b>"
