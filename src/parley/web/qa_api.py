"""REST routes for QA review and secret shoppers (``docs/protocol.md``, "QA review and secret
shoppers"): transcript search, scorecards, reviews, the QA report (JSON and CSV), shopper
links, and the shopper's own status and checklist. Each handler resolves the principal and
calls one method of ``QaService``, where the rights are checked and the audit log written.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from parley.bootstrap import Parley
from parley.domain import qa
from parley.protocol import CleanInput
from parley.services.archive import MAX_SEARCH_LIMIT, MAX_SEARCH_OFFSET
from parley.services.qa import (
    MAX_LINK_NOTE_CHARS,
    MAX_REVIEWS_LIMIT,
    MAX_REVIEWS_OFFSET,
    SHOPPER_PATH,
    report_csv,
)
from parley.storage.archive import ArchiveQuery
from parley.storage.qa import LinkRow, ReviewRow
from parley.web import limits
from parley.web.api import ERRORS, RATE_LIMITED
from parley.web.archive_api import HitOut
from parley.web.node import Node
from parley.web.security import Admin, AnyStaff

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
UserId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Slug = Annotated[str, Field(min_length=1, max_length=64)]
#: A category's score: whole numbers only (a scale is at most 10).
Points = Annotated[int, Field(ge=0, le=qa.MAX_SCALE, strict=True)]
Key = Annotated[str, Field(min_length=1, max_length=qa.MAX_KEY_CHARS)]
LinkToken = Annotated[str, Field(min_length=1, max_length=512)]


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


class TranscriptSearchIn(_In):
    words: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    workgroups: list[Slug] | None = Field(
        None, max_length=100, description="Slugs; default: every workgroup you supervise."
    )
    agent_id: UserId | None = Field(None, description="An agent who took part in the chat.")
    outcome: Literal["resolved", "escalated", "follow_up"] | None = None
    tag: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    rating_min: Annotated[int, Field(ge=1, le=5)] | None = None
    rating_max: Annotated[int, Field(ge=1, le=5)] | None = None
    shopper: bool | None = Field(
        None, description="true: secret shoppers' chats only; false: none of them."
    )

    def query(self, offset: int, limit: int) -> ArchiveQuery:
        return ArchiveQuery(
            words=self.words,
            since=self.since,
            until=self.until,
            agent_id=self.agent_id,
            outcome=self.outcome,
            tag=self.tag,
            rating_min=self.rating_min,
            rating_max=self.rating_max,
            shopper=self.shopper,
            offset=offset,
            limit=limit,
        )


class CategoryIO(_In):
    key: Key
    name: Annotated[str, Field(min_length=1, max_length=qa.MAX_NAME_CHARS)]
    weight: Annotated[int, Field(ge=1, le=qa.MAX_WEIGHT)] = 1
    scale: Annotated[int, Field(ge=1, le=qa.MAX_SCALE)] = 5
    critical: bool = False

    def category(self) -> qa.Category:
        return qa.Category(self.key, self.name, self.weight, self.scale, self.critical)


class ScorecardIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=qa.MAX_NAME_CHARS)]
    purpose: qa.Purpose = qa.Purpose.REVIEW
    categories: list[CategoryIO] = Field(min_length=1, max_length=qa.MAX_CATEGORIES)
    active: bool = True


class ScorecardOut(BaseModel):
    id: int | None = Field(description="null: the built-in shopper checklist.")
    name: str
    purpose: qa.Purpose
    categories: list[CategoryIO]
    active: bool

    @classmethod
    def of(cls, card: qa.Scorecard) -> "ScorecardOut":
        return cls(
            id=card.id,
            name=card.name,
            purpose=card.purpose,
            categories=[
                CategoryIO(
                    key=c.key, name=c.name, weight=c.weight, scale=c.scale, critical=c.critical
                )
                for c in card.categories
            ],
            active=card.active,
        )


class ReviewIn(_In):
    scorecard_id: UserId
    scores: dict[Key, Points] = Field(max_length=qa.MAX_CATEGORIES)
    comments: dict[Key, Annotated[str, Field(max_length=qa.MAX_CATEGORY_COMMENT_CHARS)]] = Field(
        default_factory=dict, max_length=qa.MAX_CATEGORIES
    )
    comment: Annotated[str, Field(max_length=qa.MAX_COMMENT_CHARS)] = ""
    agent_id: UserId | None = Field(
        None, description="The agent reviewed; default: the last agent who wrote in the chat."
    )


class ReviewUpdateIn(_In):
    scores: dict[Key, Points] = Field(max_length=qa.MAX_CATEGORIES)
    comments: dict[Key, Annotated[str, Field(max_length=qa.MAX_CATEGORY_COMMENT_CHARS)]] = Field(
        default_factory=dict, max_length=qa.MAX_CATEGORIES
    )
    comment: Annotated[str, Field(max_length=qa.MAX_COMMENT_CHARS)] = ""


class ReviewOut(BaseModel):
    id: int
    conversation_id: str
    agent_id: int | None
    agent_name: str
    reviewer_name: str
    scorecard: ScorecardOut = Field(description="The scorecard as it was when filled.")
    scores: dict[str, int]
    comments: dict[str, str]
    comment: str
    score: float = Field(description="0 to 100 (docs/metrics.md, QA review).")
    failed_critical: list[str] = Field(
        description="Critical categories below half their scale: the score is then 0."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, r: ReviewRow) -> "ReviewOut":
        return cls(
            id=r.id,
            conversation_id=r.conversation_id,
            agent_id=r.agent_id,
            agent_name=r.agent_name,
            reviewer_name=r.reviewer_name,
            scorecard=ScorecardOut.of(r.card),
            scores=r.scores,
            comments=r.comments,
            comment=r.comment,
            score=r.score,
            failed_critical=list(r.failed_critical),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )


class SupervisedReviewOut(ReviewOut):
    """A review as its workgroup's supervisors see it: with whether a shopper gave it."""

    shopper: bool

    @classmethod
    def of(cls, r: ReviewRow) -> "SupervisedReviewOut":
        return cls(**ReviewOut.of(r).model_dump(), shopper=r.shopper)


class AverageOut(BaseModel):
    reviews: int
    score: float


class AgentRowOut(BaseModel):
    agent_id: int | None
    agent_name: str
    reviews: AverageOut = Field(description="Supervisors' reviews.")
    shoppers: AverageOut | None = Field(description="Secret shoppers' scores, apart.")


class CategoryRowOut(BaseModel):
    key: str
    name: str
    shopper: bool
    reviews: int
    percent: float = Field(description="The mean share of the category's scale, 0 to 100.")


class ReportOut(BaseModel):
    since: datetime
    until: datetime
    agents: list[AgentRowOut]
    categories: list[CategoryRowOut]
    overall: AverageOut | None
    shoppers: AverageOut | None


def _avg(a: qa.Average | None) -> AverageOut | None:
    return None if a is None else AverageOut(reviews=a.reviews, score=a.score)


class LinkIn(_In):
    workgroup: Slug
    hours: Annotated[float, Field(gt=0, le=168)] | None = Field(
        None, description="How long it opens a chat: default 24, at most 168 (7 days)."
    )
    note: Annotated[str, Field(max_length=MAX_LINK_NOTE_CHARS)] = ""


class LinkOut(BaseModel):
    id: str
    workgroup: str
    note: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    conversation_id: str | None
    scored_at: datetime | None

    @classmethod
    def of(cls, r: LinkRow, slug: str) -> "LinkOut":
        return cls(
            id=r.link.id,
            workgroup=slug,
            note=r.note,
            created_at=r.created_at,
            expires_at=r.link.expires_at,
            used_at=r.link.used_at,
            conversation_id=r.link.conversation_id,
            scored_at=r.link.scored_at,
        )


class NewLinkOut(LinkOut):
    token: str = Field(description="Shown once: the shopper opens the chat with it.")
    url: str = Field(
        description="The demo site's page that opens the widget with the token (fragment)."
    )


class ShopperStatusOut(BaseModel):
    workgroup: str
    state: Literal["unused", "used", "scored", "expired"]
    expires_at: datetime
    chat_ended: bool
    checklist: ScorecardOut


class ShopperScoreIn(_In):
    link: LinkToken
    scores: dict[Key, Points] = Field(max_length=qa.MAX_CATEGORIES)
    comment: Annotated[str, Field(max_length=qa.MAX_COMMENT_CHARS)] = ""


class ShopperScoreOut(BaseModel):
    score: float


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["qa"])

    @api.post("/qa/search")
    async def search(
        parley: Node,
        body: TranscriptSearchIn,
        staff: AnyStaff,
        offset: Annotated[int, Query(ge=0, le=MAX_SEARCH_OFFSET)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_LIMIT)] = 50,
    ) -> list[HitOut]:
        hits = await parley.qa.search(staff, body.query(offset, limit), body.workgroups)
        return [HitOut.of(h) for h in hits]

    @api.get("/qa/scorecards")
    async def scorecards(parley: Node, staff: AnyStaff) -> list[ScorecardOut]:
        return [ScorecardOut.of(c) for c in await parley.qa.scorecards(staff)]

    @api.post("/admin/qa/scorecards", status_code=201)
    async def create_scorecard(parley: Node, body: ScorecardIn, admin: Admin) -> ScorecardOut:
        card = await parley.qa.create_scorecard(
            admin, body.name, body.purpose, [c.category() for c in body.categories], body.active
        )
        return ScorecardOut.of(card)

    @api.put("/admin/qa/scorecards/{scorecard_id}")
    async def update_scorecard(
        parley: Node, scorecard_id: Id, body: ScorecardIn, admin: Admin
    ) -> ScorecardOut:
        card = await parley.qa.update_scorecard(
            admin,
            scorecard_id,
            body.name,
            body.purpose,
            [c.category() for c in body.categories],
            body.active,
        )
        return ScorecardOut.of(card)

    @api.delete("/admin/qa/scorecards/{scorecard_id}", status_code=204)
    async def delete_scorecard(parley: Node, scorecard_id: Id, admin: Admin) -> Response:
        await parley.qa.delete_scorecard(admin, scorecard_id)
        return Response(status_code=204)

    @api.get("/qa/conversations/{conversation_id}/reviews")
    async def chat_reviews(
        parley: Node,
        conversation_id: Annotated[str, Path(max_length=64)],
        staff: AnyStaff,
    ) -> list[SupervisedReviewOut]:
        rows = await parley.qa.chat_reviews(staff, conversation_id)
        return [SupervisedReviewOut.of(r) for r in rows]

    @api.post("/qa/conversations/{conversation_id}/reviews", status_code=201)
    async def create_review(
        parley: Node,
        conversation_id: Annotated[str, Path(max_length=64)],
        body: ReviewIn,
        staff: AnyStaff,
    ) -> SupervisedReviewOut:
        row = await parley.qa.create_review(
            staff,
            conversation_id,
            body.scorecard_id,
            body.scores,
            body.comments,
            body.comment,
            body.agent_id,
        )
        return SupervisedReviewOut.of(row)

    @api.put("/qa/reviews/{review_id}")
    async def update_review(
        parley: Node, review_id: Id, body: ReviewUpdateIn, staff: AnyStaff
    ) -> SupervisedReviewOut:
        row = await parley.qa.update_review(
            staff, review_id, body.scores, body.comments, body.comment
        )
        return SupervisedReviewOut.of(row)

    @api.delete("/qa/reviews/{review_id}", status_code=204)
    async def delete_review(parley: Node, review_id: Id, staff: AnyStaff) -> Response:
        await parley.qa.delete_review(staff, review_id)
        return Response(status_code=204)

    @api.get("/qa/reviews")
    async def reviews(
        parley: Node,
        staff: AnyStaff,
        workgroup: Annotated[list[str] | None, Query(max_length=100)] = None,
        agent_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        since: Annotated[AwareDatetime | None, Query()] = None,
        until: Annotated[AwareDatetime | None, Query()] = None,
        shopper: bool | None = None,
        offset: Annotated[int, Query(ge=0, le=MAX_REVIEWS_OFFSET)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_REVIEWS_LIMIT)] = 50,
    ) -> list[SupervisedReviewOut]:
        rows = await parley.qa.reviews(
            staff,
            workgroups=workgroup,
            agent_id=agent_id,
            since=since,
            until=until,
            shopper=shopper,
            offset=offset,
            limit=limit,
        )
        return [SupervisedReviewOut.of(r) for r in rows]

    @api.get("/qa/reviews/{review_id}")
    async def review(parley: Node, review_id: Id, staff: AnyStaff) -> ReviewOut:
        row = await parley.qa.review(staff, review_id)
        # An agent reading their own review is told nothing of shoppers.
        if row.agent_id == staff.user_id:
            return ReviewOut.of(row)
        return SupervisedReviewOut.of(row)

    @api.get("/me/qa/reviews")
    async def my_reviews(
        parley: Node,
        staff: AnyStaff,
        since: Annotated[AwareDatetime | None, Query()] = None,
        until: Annotated[AwareDatetime | None, Query()] = None,
        offset: Annotated[int, Query(ge=0, le=MAX_REVIEWS_OFFSET)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_REVIEWS_LIMIT)] = 50,
    ) -> list[ReviewOut]:
        rows = await parley.qa.my_reviews(staff, since, until, offset, limit)
        return [ReviewOut.of(r) for r in rows]

    @api.get(
        "/qa/report",
        responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
    )
    async def report(
        parley: Node,
        staff: AnyStaff,
        since: Annotated[AwareDatetime, Query()],
        until: Annotated[AwareDatetime, Query()],
        workgroup: Annotated[list[str] | None, Query(max_length=100)] = None,
        agent_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        format: Annotated[Literal["json", "csv"], Query()] = "json",
    ) -> Response:
        r = await parley.qa.report(
            staff, since=since, until=until, workgroups=workgroup, agent_id=agent_id
        )
        if format == "csv":
            return Response(
                report_csv(r),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="qa-report.csv"'},
            )
        out = ReportOut(
            since=since,
            until=until,
            agents=[
                AgentRowOut(
                    agent_id=a.agent_id,
                    agent_name=a.agent_name,
                    reviews=AverageOut(reviews=a.reviews.reviews, score=a.reviews.score),
                    shoppers=_avg(a.shoppers),
                )
                for a in r.agents
            ],
            categories=[
                CategoryRowOut(
                    key=c.key, name=c.name, shopper=c.shopper, reviews=c.reviews, percent=c.percent
                )
                for c in r.categories
            ],
            overall=_avg(r.overall),
            shoppers=_avg(r.shoppers),
        )
        return Response(out.model_dump_json(), media_type="application/json")

    @api.post("/qa/shopper-links", status_code=201)
    async def create_link(parley: Node, body: LinkIn, staff: AnyStaff) -> NewLinkOut:
        new = await parley.qa.create_link(staff, body.workgroup, body.hours, body.note)
        base = LinkOut.of(new.row, new.slug)
        return NewLinkOut(
            **base.model_dump(),
            token=new.token,
            url=f"{SHOPPER_PATH}#shopper={new.token}",
        )

    @api.get("/qa/shopper-links")
    async def links(parley: Node, staff: AnyStaff) -> list[LinkOut]:
        return [LinkOut.of(r, slug) for r, slug in await parley.qa.links(staff)]

    async def _shopper_limit(parley: Parley, request: Request) -> None:
        await parley.limiter.hit(
            parley.rules.shopper_ip,
            limits.client_ip(request.scope),
            message="too many requests from your address; try again later",
        )

    @api.get("/shopper", tags=["visitors"], responses=RATE_LIMITED)
    async def shopper_status(
        parley: Node,
        request: Request,
        x_shopper_link: Annotated[str, Header(min_length=1, max_length=512)],
    ) -> ShopperStatusOut:
        await _shopper_limit(parley, request)
        s = await parley.qa.shopper_status(x_shopper_link)
        return ShopperStatusOut(
            workgroup=s.slug,
            state=s.state,
            expires_at=s.expires_at,
            chat_ended=s.chat_ended,
            checklist=ScorecardOut.of(s.checklist),
        )

    @api.post("/shopper/score", status_code=201, tags=["visitors"], responses=RATE_LIMITED)
    async def shopper_score(
        parley: Node, body: ShopperScoreIn, request: Request
    ) -> ShopperScoreOut:
        await _shopper_limit(parley, request)
        row = await parley.qa.shopper_score(body.link, body.scores, body.comment)
        return ShopperScoreOut(score=row.score)

    return api
