"""REST routes for supervisors, live: the workgroups they supervise, a wallboard read now, the
live chats, whispers, barging in and taking over; for admins, who supervises a workgroup and its
wallboard settings (see ``docs/protocol.md``, "Supervisors").

The console is pushed its wallboards over the WebSocket (``supervise``) and watches chats there
(``monitor``); these routes are for scripts and for the actions. Each handler resolves the
principal and calls one service method; permissions are checked there, through
``parley.domain.access``.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from parley.domain import wallboard
from parley.protocol import (
    CleanInput,
    EntryOut,
    LiveChatOut,
    SupervisionSettingsOut,
    WallboardOut,
)
from parley.web import limits
from parley.web.api import ERRORS, RATE_LIMITED
from parley.web.node import Node
from parley.web.security import Admin, AnyStaff


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


class SupervisedWorkgroupOut(BaseModel):
    id: int
    slug: str
    name: str
    settings: SupervisionSettingsOut


class SupervisorsIO(_In):
    usernames: list[Annotated[str, Field(max_length=64)]] = Field(max_length=200)


class SupervisionSettingsIn(_In):
    sl_target_secs: int = Field(wallboard.DEFAULT_SL_TARGET_SECS, ge=1, le=3600)
    sl_goal_percent: int = Field(wallboard.DEFAULT_SL_GOAL_PERCENT, ge=1, le=100)
    alert_waiting: int | None = Field(None, ge=1, le=100_000)
    alert_longest_wait_secs: int | None = Field(
        wallboard.DEFAULT_ALERT_LONGEST_WAIT_SECS, ge=1, le=86_400
    )
    alert_asa_secs: int | None = Field(None, ge=1, le=86_400)
    alert_abandoned: int | None = Field(None, ge=1, le=1_000_000)
    stalled_secs: int = Field(wallboard.DEFAULT_STALLED_SECS, ge=10, le=86_400)
    sound: bool = False
    show_monitoring: bool = False
    ratings: bool = True

    def settings(self) -> wallboard.Settings:
        return wallboard.Settings(
            sl_target_secs=self.sl_target_secs,
            sl_goal_percent=self.sl_goal_percent,
            alert_waiting=self.alert_waiting,
            alert_longest_wait_secs=self.alert_longest_wait_secs,
            alert_asa_secs=self.alert_asa_secs,
            alert_abandoned=self.alert_abandoned,
            stalled_secs=self.stalled_secs,
            sound=self.sound,
            show_monitoring=self.show_monitoring,
            ratings=self.ratings,
        )


class WhisperIn(_In):
    client_id: Annotated[str, Field(min_length=1, max_length=64)]
    text: str
    confirm: bool = Field(
        default=False,
        description="Send it as written although a house rule warned (blocked_word_warning).",
    )


ConversationId = Annotated[str, Field(min_length=1, max_length=32)]


def router() -> APIRouter:
    """The routes, for every node: a handler reaches its own through ``parley: Node``."""
    api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["supervision"])

    @api.get("/supervision/workgroups")
    async def my_workgroups(parley: Node, staff: AnyStaff) -> list[SupervisedWorkgroupOut]:
        """The workgroups you supervise (an admin: all), with their wallboard settings."""
        return [
            SupervisedWorkgroupOut(
                id=wg.id, slug=wg.slug, name=wg.name, settings=SupervisionSettingsOut.of(s)
            )
            for wg, s in await parley.supervision.my_workgroups(staff)
        ]

    @api.get("/supervision/workgroups/{slug}/wallboard")
    async def board(parley: Node, slug: str, staff: AnyStaff) -> WallboardOut:
        """One workgroup's wallboard, read now. The console is pushed it instead."""
        return await parley.wallboard.snapshot(staff, slug)

    @api.get("/supervision/chats")
    async def live_chats(
        parley: Node,
        staff: AnyStaff,
        workgroup: Annotated[str | None, Query(max_length=64)] = None,
        agent: Annotated[int | None, Query(description="An agent's user id.")] = None,
        queue: Annotated[int | None, Query(description="A queue's id.")] = None,
    ) -> list[LiveChatOut]:
        """The live chats of the workgroups you supervise, the quietest first."""
        return await parley.wallboard.live_chats(
            staff, workgroup=workgroup, agent=agent, queue=queue
        )

    @api.post("/supervision/chats/{conversation_id}/whisper", responses=RATE_LIMITED)
    async def whisper(
        parley: Node,
        conversation_id: ConversationId,
        body: WhisperIn,
        staff: AnyStaff,
        request: Request,
    ) -> EntryOut:
        """Coach the chat's agents: the customer never sees it. Limited like a send."""
        await limits.check_send_limit(parley.limiter, parley.rules.send, request, conversation_id)
        return await parley.supervision.whisper(
            staff, conversation_id, body.client_id, body.text, confirm=body.confirm
        )

    @api.post("/supervision/chats/{conversation_id}/barge", status_code=204)
    async def barge(parley: Node, conversation_id: ConversationId, staff: AnyStaff) -> None:
        """Join the chat: the customer sees you join."""
        await parley.supervision.barge(staff, conversation_id)

    @api.post("/supervision/chats/{conversation_id}/take-over", status_code=204)
    async def take_over(parley: Node, conversation_id: ConversationId, staff: AnyStaff) -> None:
        """Take the chat over: its agents leave, you become its agent."""
        await parley.supervision.take_over(staff, conversation_id)

    @api.get("/admin/workgroups/{slug}/supervisors", tags=["admin"])
    async def supervisors(parley: Node, slug: str, admin: Admin) -> SupervisorsIO:
        return SupervisorsIO(usernames=await parley.supervision.supervisors(admin, slug))

    @api.put("/admin/workgroups/{slug}/supervisors", tags=["admin"])
    async def set_supervisors(
        parley: Node, slug: str, body: SupervisorsIO, admin: Admin
    ) -> SupervisorsIO:
        return SupervisorsIO(
            usernames=await parley.supervision.set_supervisors(admin, slug, body.usernames)
        )

    @api.get("/admin/workgroups/{slug}/supervision", tags=["admin"])
    async def get_settings(parley: Node, slug: str, admin: Admin) -> SupervisionSettingsOut:
        return SupervisionSettingsOut.of(await parley.supervision.settings(admin, slug))

    @api.put("/admin/workgroups/{slug}/supervision", tags=["admin"])
    async def set_settings(
        parley: Node, slug: str, body: SupervisionSettingsIn, admin: Admin
    ) -> SupervisionSettingsOut:
        return SupervisionSettingsOut.of(
            await parley.supervision.set_settings(admin, slug, body.settings())
        )

    return api
