"""The public page of a knowledge-base article, ``/help/{slug}/{id}``: what the link an agent
inserts into a chat opens. Only the workgroup's public articles (anything else: a 404 page that
says nothing more); limited like the widget's search (``kb_ip``, ``kb_workgroup``).

The page is built here from the article's title (escaped) and its HTML, which was sanitized to
an allowlist when the article was saved (``parley.markup``, docs/security.md); it has no script,
and Parley's page CSP (``web.headers``) would refuse one anyway.
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from parley.domain.errors import NotFound
from parley.web import limits
from parley.web.node import node_of

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>
body {{ font: 16px/1.55 system-ui, sans-serif; color: #1f2328; margin: 0; background: #f6f8fa; }}
main {{ max-width: 44rem; margin: 2rem auto; padding: 1.5rem 2rem; background: #fff;
  border: 1px solid #d0d7de; border-radius: 8px; }}
h1 {{ font-size: 1.6rem; margin-top: 0; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #d0d7de; padding: .3rem .6rem; }}
pre {{ background: #f6f8fa; padding: .75rem; overflow: auto; }}
.muted {{ color: #57606a; font-size: .9rem; }}
</style>
</head>
<body>
<main>
<p class="muted">{category}</p>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"""


def router() -> APIRouter:
    pages = APIRouter()

    @pages.get("/help/{slug}/{article_id}", include_in_schema=False)
    async def help_article(
        slug: Annotated[str, Path(max_length=64)],
        article_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
        request: Request,
    ) -> HTMLResponse:
        parley = node_of(request)
        await limits.check_visitor_limits(
            parley.limiter, parley.rules.kb_ip, parley.rules.kb_workgroup, "reads", request, slug
        )
        try:
            hit = await parley.knowledge.public_article(slug, article_id)
        except NotFound:
            page = _PAGE.format(title="Not found", category="", body="<p>No such article.</p>")
            return HTMLResponse(page, status_code=404)
        page = _PAGE.format(
            title=html.escape(hit.stored.article.title),
            category=html.escape(hit.stored.article.category),
            body=hit.stored.html,
        )
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    return pages
