"""REST routes of the agent's workspace (``docs/protocol.md``, "Canned responses" and "The
knowledge base"): canned responses and the ``/`` search of the reply box, each workgroup's
automatic greeting, knowledge-base articles and the suggestions beside a chat, and the widget's
public search (rate-limited per client address and per workgroup, like the other public routes).

Each handler resolves the principal and calls one service method; permissions are checked
there (``domain.access``).
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from parley.domain import knowledge as kb_policy
from parley.domain.canned import Scope
from parley.domain.knowledge import Visibility
from parley.domain.placeholders import Rendered
from parley.protocol import CleanInput
from parley.services.canned import CannedView, Suggestion
from parley.services.knowledge import Hit
from parley.web import limits
from parley.web.api import ERRORS, RATE_LIMITED
from parley.web.node import Node
from parley.web.security import AnyStaff

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
ConversationId = Annotated[str, Path(min_length=1, max_length=64)]
Slug = Annotated[str, Path(min_length=1, max_length=64)]


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


# Canned responses ----------------------------------------------------------------------------


class CannedIn(_In):
    # Loosely bounded here, so that a value too long gets the domain's answer with its limit.
    shortcut: Annotated[str, Field(max_length=10_000)]
    title: Annotated[str, Field(max_length=10_000)]
    text: Annotated[str, Field(max_length=100_000)]
    category: Annotated[str, Field(max_length=10_000)] = ""


class NewCannedIn(CannedIn):
    scope: Scope = Field(description="`workgroup` (shared) or `personal`.")
    workgroup: Annotated[str | None, Field(max_length=64)] = Field(
        None, description="A shared response's workgroup (its slug); none for a personal one."
    )


class CannedOut(BaseModel):
    id: int
    scope: Scope
    workgroup: str | None = Field(description="The workgroup's slug; None for a personal one.")
    shortcut: str
    title: str
    text: str
    category: str
    uses: int = Field(description="Times it was inserted into a reply, or greeted a customer.")
    editable: bool = Field(description="Whether you may change it.")

    @classmethod
    def of(cls, v: CannedView) -> "CannedOut":
        c = v.canned
        return cls(
            id=c.id,
            scope=c.scope,
            workgroup=v.workgroup or None,
            shortcut=c.shortcut,
            title=c.title,
            text=c.text,
            category=c.category,
            uses=c.uses,
            editable=v.editable,
        )


class SuggestionOut(BaseModel):
    kind: Literal["canned", "template"]
    id: int
    scope: Literal["workgroup", "personal", "company"]
    shortcut: str
    title: str
    text: str = Field(description="As written, placeholders and all.")
    category: str = Field(description="A template's kind for a template.")
    uses: int

    @classmethod
    def of(cls, s: Suggestion) -> "SuggestionOut":
        return cls.model_validate(
            {
                "kind": s.kind,
                "id": s.id,
                "scope": s.scope,
                "shortcut": s.shortcut,
                "title": s.title,
                "text": s.text,
                "category": s.category,
                "uses": s.uses,
            }
        )


class RenderedOut(BaseModel):
    text: str = Field(description="The text for this chat, to edit before sending.")
    missing: list[str] = Field(description="Placeholders without a value nor a fallback.")

    @classmethod
    def of(cls, r: Rendered) -> "RenderedOut":
        return cls(text=r.text, missing=list(r.missing))


class GreetingIn(_In):
    canned_id: Annotated[int | None, Field(ge=1, le=2**31 - 1)] = Field(
        description="One of the workgroup's shared responses; null: no greeting."
    )


class GreetingOut(BaseModel):
    greeting: CannedOut | None


# Knowledge base ------------------------------------------------------------------------------


class ArticleIn(_In):
    title: Annotated[str, Field(max_length=10_000)]
    body: Annotated[str, Field(max_length=200_000)] = Field(description="Markdown.")
    category: Annotated[str, Field(max_length=10_000)] = ""
    visibility: Visibility = Visibility.INTERNAL


class NewArticleIn(ArticleIn):
    workgroup: Annotated[str, Field(min_length=1, max_length=64)]


class ArticleSummaryOut(BaseModel):
    id: int
    workgroup: str
    title: str
    category: str
    visibility: Visibility
    excerpt: str = Field(description="Plain text, around the words searched for.")
    updated_at: datetime

    @classmethod
    def of(cls, h: Hit) -> "ArticleSummaryOut":
        a = h.stored.article
        return cls(
            id=a.id,
            workgroup=h.workgroup,
            title=a.title,
            category=a.category,
            visibility=a.visibility,
            excerpt=h.excerpt,
            updated_at=h.stored.updated_at,
        )


class ArticleOut(ArticleSummaryOut):
    body: str = Field(description="The Markdown as written.")
    html: str = Field(description="Rendered and sanitized (docs/security.md).")
    answered: int = Field(description="Times a visitor said it answered their question.")
    created_at: datetime
    editable: bool

    @classmethod
    def of(cls, h: Hit) -> "ArticleOut":
        s = h.stored
        return cls(
            **ArticleSummaryOut.of(h).model_dump(),
            body=s.article.body,
            html=s.html,
            answered=s.answered,
            created_at=s.created_at,
            editable=h.editable,
        )


class PublicArticleSummaryOut(BaseModel):
    id: int
    title: str
    category: str
    excerpt: str

    @classmethod
    def of(cls, h: Hit) -> "PublicArticleSummaryOut":
        a = h.stored.article
        return cls(id=a.id, title=a.title, category=a.category, excerpt=h.excerpt)


class PublicArticleOut(PublicArticleSummaryOut):
    html: str = Field(description="Rendered and sanitized (docs/security.md).")
    updated_at: datetime

    @classmethod
    def of(cls, h: Hit) -> "PublicArticleOut":
        return cls(
            **PublicArticleSummaryOut.of(h).model_dump(),
            html=h.stored.html,
            updated_at=h.stored.updated_at,
        )


class AnsweredOut(BaseModel):
    left_queue: bool = Field(description="Your chat was waiting and left the queue.")


Q = Annotated[str, Query(max_length=kb_policy.MAX_QUERY_CHARS * 2)]


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1", responses=ERRORS)

    # Canned responses ------------------------------------------------------------------------

    @api.get("/canned", tags=["canned responses"])
    async def list_canned(
        parley: Node,
        staff: AnyStaff,
        workgroup: Annotated[str | None, Query(max_length=64)] = None,
        scope: Scope | None = None,
    ) -> list[CannedOut]:
        found = await parley.canned.responses(staff, workgroup=workgroup, scope=scope)
        return [CannedOut.of(v) for v in found]

    @api.get("/canned/search", tags=["canned responses"])
    async def search_canned(
        parley: Node,
        staff: AnyStaff,
        q: Annotated[str, Query(max_length=1000)] = "",
        conversation_id: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=20)] = 8,
    ) -> list[SuggestionOut]:
        found = await parley.canned.search(staff, q, conversation_id=conversation_id, limit=limit)
        return [SuggestionOut.of(s) for s in found]

    @api.post("/canned", status_code=201, tags=["canned responses"])
    async def create_canned(parley: Node, body: NewCannedIn, staff: AnyStaff) -> CannedOut:
        made = await parley.canned.create(
            staff,
            body.scope,
            body.shortcut,
            body.title,
            body.text,
            body.category,
            workgroup=body.workgroup,
        )
        return CannedOut.of(made)

    @api.get("/canned/{canned_id}", tags=["canned responses"])
    async def get_canned(parley: Node, canned_id: Id, staff: AnyStaff) -> CannedOut:
        return CannedOut.of(await parley.canned.response(staff, canned_id))

    @api.put("/canned/{canned_id}", tags=["canned responses"])
    async def update_canned(
        parley: Node, canned_id: Id, body: CannedIn, staff: AnyStaff
    ) -> CannedOut:
        changed = await parley.canned.update(
            staff, canned_id, body.shortcut, body.title, body.text, body.category
        )
        return CannedOut.of(changed)

    @api.delete("/canned/{canned_id}", status_code=204, tags=["canned responses"])
    async def delete_canned(parley: Node, canned_id: Id, staff: AnyStaff) -> None:
        await parley.canned.delete(staff, canned_id)

    @api.post("/conversations/{conversation_id}/canned/{canned_id}", tags=["canned responses"])
    async def use_canned(
        parley: Node, conversation_id: ConversationId, canned_id: Id, staff: AnyStaff
    ) -> RenderedOut:
        return RenderedOut.of(await parley.canned.use(staff, conversation_id, canned_id))

    @api.post("/conversations/{conversation_id}/templates/{template_id}", tags=["canned responses"])
    async def use_template(
        parley: Node, conversation_id: ConversationId, template_id: Id, staff: AnyStaff
    ) -> RenderedOut:
        return RenderedOut.of(await parley.canned.use_template(staff, conversation_id, template_id))

    @api.get("/workgroups/{slug}/greeting", tags=["canned responses"])
    async def get_greeting(parley: Node, slug: Slug, staff: AnyStaff) -> GreetingOut:
        found = await parley.canned.greeting(staff, slug)
        return GreetingOut(greeting=None if found is None else CannedOut.of(found))

    @api.put("/workgroups/{slug}/greeting", tags=["canned responses"])
    async def set_greeting(
        parley: Node, slug: Slug, body: GreetingIn, staff: AnyStaff
    ) -> GreetingOut:
        found = await parley.canned.set_greeting(staff, slug, body.canned_id)
        return GreetingOut(greeting=None if found is None else CannedOut.of(found))

    # Knowledge base: staff -------------------------------------------------------------------

    @api.get("/kb/articles", tags=["knowledge base"])
    async def list_articles(
        parley: Node,
        staff: AnyStaff,
        workgroup: Annotated[str | None, Query(max_length=64)] = None,
        q: Annotated[str | None, Query(max_length=kb_policy.MAX_QUERY_CHARS * 2)] = None,
        category: Annotated[str | None, Query(max_length=100)] = None,
        visibility: Visibility | None = None,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> list[ArticleSummaryOut]:
        found = await parley.knowledge.articles(
            staff,
            workgroup=workgroup,
            query=q,
            category=category,
            visibility=visibility,
            offset=offset,
            limit=limit,
        )
        return [ArticleSummaryOut.of(h) for h in found]

    @api.post("/kb/articles", status_code=201, tags=["knowledge base"])
    async def create_article(parley: Node, body: NewArticleIn, staff: AnyStaff) -> ArticleOut:
        made = await parley.knowledge.create(
            staff, body.workgroup, body.title, body.body, body.category, body.visibility
        )
        return ArticleOut.of(made)

    @api.get("/kb/articles/{article_id}", tags=["knowledge base"])
    async def get_article(parley: Node, article_id: Id, staff: AnyStaff) -> ArticleOut:
        return ArticleOut.of(await parley.knowledge.article(staff, article_id))

    @api.put("/kb/articles/{article_id}", tags=["knowledge base"])
    async def update_article(
        parley: Node, article_id: Id, body: ArticleIn, staff: AnyStaff
    ) -> ArticleOut:
        changed = await parley.knowledge.update(
            staff, article_id, body.title, body.body, body.category, body.visibility
        )
        return ArticleOut.of(changed)

    @api.delete("/kb/articles/{article_id}", status_code=204, tags=["knowledge base"])
    async def delete_article(parley: Node, article_id: Id, staff: AnyStaff) -> None:
        await parley.knowledge.delete(staff, article_id)

    @api.get("/conversations/{conversation_id}/kb/suggestions", tags=["knowledge base"])
    async def suggestions(
        parley: Node,
        conversation_id: ConversationId,
        staff: AnyStaff,
        limit: Annotated[int, Query(ge=1, le=10)] = kb_policy.SUGGESTIONS,
    ) -> list[ArticleSummaryOut]:
        found = await parley.knowledge.suggestions(staff, conversation_id, limit)
        return [ArticleSummaryOut.of(h) for h in found]

    # Knowledge base: the widget (public, limited) --------------------------------------------

    async def limited(parley: Node, request: Request, slug: str) -> None:
        rules = parley.rules
        await limits.check_visitor_limits(
            parley.limiter, rules.kb_ip, rules.kb_workgroup, "searches", request, slug
        )

    @api.get("/workgroups/{slug}/kb", tags=["visitors"], responses=RATE_LIMITED)
    async def public_search(
        parley: Node,
        slug: Slug,
        request: Request,
        response: Response,
        q: Q,
        limit: Annotated[int, Query(ge=1, le=kb_policy.MAX_RESULTS)] = 6,
    ) -> list[PublicArticleSummaryOut]:
        await limited(parley, request, slug)
        response.headers["Cache-Control"] = "no-store"
        found = await parley.knowledge.public_search(slug, q, limit)
        return [PublicArticleSummaryOut.of(h) for h in found]

    @api.get("/workgroups/{slug}/kb/{article_id}", tags=["visitors"], responses=RATE_LIMITED)
    async def public_article(
        parley: Node, slug: Slug, article_id: Id, request: Request
    ) -> PublicArticleOut:
        await limited(parley, request, slug)
        return PublicArticleOut.of(await parley.knowledge.public_article(slug, article_id))

    @api.post(
        "/workgroups/{slug}/kb/{article_id}/answered", tags=["visitors"], responses=RATE_LIMITED
    )
    async def answered(
        parley: Node,
        slug: Slug,
        article_id: Id,
        request: Request,
        x_visitor_token: Annotated[
            str | None,
            Header(max_length=1024, description="Your chat's token: it leaves the queue."),
        ] = None,
    ) -> AnsweredOut:
        visitor = None if x_visitor_token is None else await parley.auth.visitor(x_visitor_token)
        await limited(parley, request, slug)
        left = await parley.knowledge.answered(slug, article_id, visitor)
        return AnsweredOut(left_queue=left)

    return api
