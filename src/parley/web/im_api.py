"""REST routes of the staff IM: direct messages, rooms, back-channels, history, search and
read markers (``docs/protocol.md``, "Staff IM").

Messages are sent as in any conversation (``POST /conversations/{id}/messages``, or the
WebSocket ``send``); typing and live entries come over the WebSocket. Each handler resolves
the principal and calls one ``ImService`` method; permissions are checked there, through
``parley.domain.access``.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from parley.domain.conversation import Visibility
from parley.domain.im import MAX_DIRECT_MEMBERS
from parley.protocol import CleanInput, ConversationOut, EntryOut
from parley.services.im import MAX_LIST, MAX_PAGE, MAX_SEARCH_CHARS
from parley.web.api import ERRORS
from parley.web.node import Node
from parley.web.security import AnyStaff

#: Input fields are bounded here only loosely (the body size limit bounds them anyway), so
#: that a name or topic too long gets the domain's own answer (``too_long``, with the limit).
MAX_FIELD_CHARS = 20_000


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


class DirectIn(_In):
    user_ids: Annotated[
        list[int],
        Field(
            min_length=1,
            max_length=MAX_DIRECT_MEMBERS - 1,
            description="The other members (you are one anyway).",
        ),
    ]


class RoomIn(_In):
    name: Annotated[str, Field(max_length=MAX_FIELD_CHARS)]
    topic: Annotated[str, Field(max_length=MAX_FIELD_CHARS)] = ""
    visibility: Visibility = Visibility.PRIVATE


class MemberIn(_In):
    user_id: int


class TopicIn(_In):
    topic: Annotated[str, Field(max_length=MAX_FIELD_CHARS)]


class ReadIn(_In):
    seq: Annotated[int, Field(ge=0)]


class ReadOut(BaseModel):
    read_seq: int
    unread: int


class ImConversationOut(BaseModel):
    conversation: ConversationOut
    unread: int = Field(description="Messages of others after your read marker.")
    read_seq: int = Field(description="Your read marker: the last seq you have read.")
    last_entry: EntryOut | None


def router() -> APIRouter:
    """The routes, for every node: a handler reaches its own through ``parley: Node``."""
    api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["im"])

    @api.post("/im/direct")
    async def open_direct(parley: Node, body: DirectIn, staff: AnyStaff) -> ConversationOut:
        return await parley.im.open_direct(staff, body.user_ids)

    @api.get("/im/conversations")
    async def mine(
        parley: Node, staff: AnyStaff, limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100
    ) -> list[ImConversationOut]:
        return [
            ImConversationOut(
                conversation=s.conversation,
                unread=s.unread,
                read_seq=s.read_seq,
                last_entry=s.last_entry,
            )
            for s in await parley.im.mine(staff, limit)
        ]

    @api.post("/im/rooms", status_code=201)
    async def create_room(parley: Node, body: RoomIn, staff: AnyStaff) -> ConversationOut:
        return await parley.im.create_room(staff, body.name, body.topic, body.visibility)

    @api.get("/im/rooms")
    async def open_rooms(
        parley: Node,
        staff: AnyStaff,
        q: Annotated[str | None, Query(max_length=MAX_SEARCH_CHARS)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
    ) -> list[ConversationOut]:
        return await parley.im.open_rooms(staff, q, limit)

    @api.post("/im/conversations/{conversation_id}/join")
    async def join(parley: Node, conversation_id: str, staff: AnyStaff) -> ConversationOut:
        return await parley.im.join(staff, conversation_id)

    @api.post("/im/conversations/{conversation_id}/leave", status_code=204)
    async def leave(parley: Node, conversation_id: str, staff: AnyStaff) -> None:
        await parley.im.leave(staff, conversation_id)

    @api.post("/im/conversations/{conversation_id}/members")
    async def add_member(
        parley: Node, conversation_id: str, body: MemberIn, staff: AnyStaff
    ) -> ConversationOut:
        return await parley.im.add_member(staff, conversation_id, body.user_id)

    @api.put("/im/conversations/{conversation_id}/topic")
    async def set_topic(
        parley: Node, conversation_id: str, body: TopicIn, staff: AnyStaff
    ) -> ConversationOut:
        return await parley.im.set_topic(staff, conversation_id, body.topic)

    @api.get("/im/conversations/{conversation_id}/history")
    async def history(
        parley: Node,
        conversation_id: str,
        staff: AnyStaff,
        before: Annotated[int | None, Query(ge=1)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> list[EntryOut]:
        return await parley.im.history(staff, conversation_id, before, limit)

    @api.get("/im/conversations/{conversation_id}/search")
    async def search(
        parley: Node,
        conversation_id: str,
        staff: AnyStaff,
        q: Annotated[str, Query(min_length=1, max_length=MAX_SEARCH_CHARS)],
        before: Annotated[int | None, Query(ge=1)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> list[EntryOut]:
        return await parley.im.search(staff, conversation_id, q, before, limit)

    @api.post("/im/conversations/{conversation_id}/read")
    async def mark_read(
        parley: Node, conversation_id: str, body: ReadIn, staff: AnyStaff
    ) -> ReadOut:
        state = await parley.im.mark_read(staff, conversation_id, body.seq)
        return ReadOut(read_seq=state.read_seq, unread=state.unread)

    @api.post("/conversations/{conversation_id}/backchannel")
    async def backchannel(parley: Node, conversation_id: str, staff: AnyStaff) -> ConversationOut:
        """The staff-only back-channel beside a customer chat (created on first open)."""
        return await parley.im.backchannel(staff, conversation_id)

    return api
