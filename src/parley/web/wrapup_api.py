"""REST routes for after the fact (see ``docs/protocol.md``, "Ratings, outcomes and tags"):
the customer's rating of an ended chat (with the visitor token), the ratings staff read, a
chat's outcome and tags at wrap-up, past chats with both, the follow-up list, and the admin's
list of tags. Each handler resolves the principal and calls one ``WrapUpService`` method;
permissions are checked there, through ``parley.domain.access``."""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases.

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from parley.domain import wrapup as policy
from parley.domain.access import RatingScope
from parley.protocol import CleanInput, ConversationOut, MultiLine, OneLine, Outcome
from parley.services.wrapup import RatingStatus
from parley.storage.wrapup import RatingRow, TagRow, WrapUp
from parley.web.api import ERRORS
from parley.web.node import Node
from parley.web.security import Admin, AnyPrincipal, AnyStaff


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


ConversationId = Annotated[str, Path(min_length=1, max_length=32)]


class RatingIn(_In):
    # The range is checked by the domain (``invalid_input``), so that a client gets the same
    # typed error whatever the score.
    score: int = Field(description="1 (bad) to 5 (very good).")
    comment: MultiLine = Field("", max_length=policy.MAX_COMMENT_CHARS)


class GivenRatingOut(BaseModel):
    score: int
    comment: str
    created_at: datetime


class RatingStatusOut(BaseModel):
    """``wanted``: the widget asks for a rating (the workgroup wants them, none given yet)."""

    wanted: bool
    rating: GivenRatingOut | None

    @classmethod
    def of(cls, s: RatingStatus) -> "RatingStatusOut":
        return cls(
            wanted=s.wanted,
            rating=None
            if s.rating is None
            else GivenRatingOut(
                score=s.rating.score, comment=s.rating.comment, created_at=s.rating.created_at
            ),
        )


class RatingOut(BaseModel):
    conversation_id: str
    score: int
    comment: str
    created_at: datetime
    agent_id: int | None = Field(description="Who it went to: the last staff member who wrote.")
    agent_name: str | None
    workgroup_id: int | None
    workgroup: str | None = Field(description="The workgroup's slug.")
    customer_name: str
    shopper: bool | None = Field(
        description="A secret shopper's chat (kept out of the reports); null for agents, who"
        " are not told."
    )

    @classmethod
    def of(cls, row: RatingRow, scope: RatingScope) -> "RatingOut":
        r = row.rating
        return cls(
            conversation_id=r.conversation_id,
            score=r.score,
            comment=r.comment,
            created_at=r.created_at,
            agent_id=r.agent_id,
            agent_name=row.agent_name,
            workgroup_id=r.workgroup_id,
            workgroup=row.workgroup_slug,
            customer_name=row.customer_name,
            shopper=row.shopper if scope.sees_shoppers else None,
        )


class TagOut(BaseModel):
    id: int
    name: str
    created_at: datetime

    @classmethod
    def of(cls, t: TagRow) -> "TagOut":
        return cls(id=t.id, name=t.name, created_at=t.created_at)


class TagIn(_In):
    name: OneLine = Field(max_length=policy.MAX_TAG_CHARS)


class OutcomeIn(_In):
    outcome: Outcome


class WrapUpOut(BaseModel):
    outcome: Outcome | None
    outcome_by: int | None = Field(description="The user id of who recorded the outcome.")
    outcome_at: datetime | None
    tags: list[TagOut]

    @classmethod
    def of(cls, w: WrapUp) -> "WrapUpOut":
        return cls(
            outcome=w.outcome,
            outcome_by=w.outcome_by,
            outcome_at=w.outcome_at,
            tags=[TagOut.of(t) for t in w.tags],
        )


class PastChatOut(BaseModel):
    conversation: ConversationOut
    wrap_up: WrapUpOut


TagId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["after the fact"])

    # Ratings ----------------------------------------------------------------------------------

    @api.get("/conversations/{conversation_id}/rating")
    async def rating_status(
        parley: Node, conversation_id: ConversationId, who: AnyPrincipal
    ) -> RatingStatusOut:
        """For the chat's visitor: whether to ask for a rating, and the rating given."""
        return RatingStatusOut.of(await parley.wrapup.rating_status(who, conversation_id))

    @api.post("/conversations/{conversation_id}/rating", status_code=201)
    async def rate(
        parley: Node, conversation_id: ConversationId, body: RatingIn, who: AnyPrincipal
    ) -> GivenRatingOut:
        """The chat's visitor rates it, once, after it ended."""
        r = await parley.wrapup.rate(who, conversation_id, body.score, body.comment)
        return GivenRatingOut(score=r.score, comment=r.comment, created_at=r.created_at)

    @api.get("/ratings")
    async def ratings(
        parley: Node,
        staff: AnyStaff,
        mine: bool = False,
        workgroup: Annotated[str | None, Query(max_length=64)] = None,
        agent: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        before: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> list[RatingOut]:
        """The ratings you read (yours; a supervisor's workgroups'; an admin's all), newest
        first."""
        scope, rows = await parley.wrapup.ratings(
            staff, mine=mine, workgroup=workgroup, agent=agent, before=before, limit=limit
        )
        return [RatingOut.of(r, scope) for r in rows]

    # Wrap-up: outcome and tags ----------------------------------------------------------------

    @api.get("/conversations/{conversation_id}/wrap-up")
    async def wrap_up(parley: Node, conversation_id: ConversationId, staff: AnyStaff) -> WrapUpOut:
        return WrapUpOut.of(await parley.wrapup.wrap_up(staff, conversation_id))

    @api.put("/conversations/{conversation_id}/outcome")
    async def set_outcome(
        parley: Node, conversation_id: ConversationId, body: OutcomeIn, staff: AnyStaff
    ) -> WrapUpOut:
        """Set or change the outcome of an ended chat you took part in."""
        return WrapUpOut.of(await parley.wrapup.set_outcome(staff, conversation_id, body.outcome))

    @api.put("/conversations/{conversation_id}/tags/{tag_id}")
    async def add_tag(
        parley: Node, conversation_id: ConversationId, tag_id: TagId, staff: AnyStaff
    ) -> WrapUpOut:
        return WrapUpOut.of(await parley.wrapup.add_tag(staff, conversation_id, tag_id))

    @api.delete("/conversations/{conversation_id}/tags/{tag_id}")
    async def remove_tag(
        parley: Node, conversation_id: ConversationId, tag_id: TagId, staff: AnyStaff
    ) -> WrapUpOut:
        return WrapUpOut.of(await parley.wrapup.remove_tag(staff, conversation_id, tag_id))

    @api.get("/past-chats")
    async def past_chats(
        parley: Node,
        staff: AnyStaff,
        q: Annotated[str | None, Query(max_length=200)] = None,
        everyone: Annotated[bool, Query(alias="all")] = False,
        outcome: Outcome | None = None,
        tag: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        before: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> list[PastChatOut]:
        """Your customer chats (``all``: everyone's, supervisors), newest first, with their
        outcome and tags."""
        found = await parley.wrapup.past_chats(
            staff,
            search=q,
            everyone=everyone,
            outcome=outcome,
            tag_id=tag,
            before=before,
            limit=limit,
        )
        return [
            PastChatOut(conversation=ConversationOut.of(c), wrap_up=WrapUpOut.of(w))
            for c, w in found
        ]

    @api.get("/follow-ups")
    async def follow_ups(
        parley: Node,
        staff: AnyStaff,
        everyone: Annotated[bool, Query(alias="all")] = False,
        limit: Annotated[int, Query(ge=1, le=200)] = 100,
    ) -> list[PastChatOut]:
        """Chats whose outcome is ``follow_up``, the oldest end first."""
        found = await parley.wrapup.past_chats(
            staff, everyone=everyone, follow_ups=True, limit=limit
        )
        return [
            PastChatOut(conversation=ConversationOut.of(c), wrap_up=WrapUpOut.of(w))
            for c, w in found
        ]

    # The admin's tags -------------------------------------------------------------------------

    @api.get("/tags")
    async def tags(parley: Node, staff: AnyStaff) -> list[TagOut]:
        return [TagOut.of(t) for t in await parley.wrapup.tags(staff)]

    @api.post("/admin/tags", status_code=201, tags=["admin"])
    async def create_tag(parley: Node, body: TagIn, admin: Admin) -> TagOut:
        return TagOut.of(await parley.wrapup.create_tag(admin, body.name))

    @api.put("/admin/tags/{tag_id}", tags=["admin"])
    async def rename_tag(parley: Node, tag_id: TagId, body: TagIn, admin: Admin) -> TagOut:
        return TagOut.of(await parley.wrapup.rename_tag(admin, tag_id, body.name))

    @api.delete("/admin/tags/{tag_id}", status_code=204, tags=["admin"])
    async def delete_tag(parley: Node, tag_id: TagId, admin: Admin) -> None:
        await parley.wrapup.delete_tag(admin, tag_id)

    return api
