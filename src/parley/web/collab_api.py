"""REST routes for working together on a chat: the staff directory, invitations, private
notes, and helpers leaving (see ``docs/protocol.md``, "Invitations and private notes").

Each handler resolves the principal and calls one service method; permissions are checked
there, through ``parley.domain.access``.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from parley.domain.access import StaffRole
from parley.domain.presence import Presence
from parley.protocol import CleanInput, EntryOut, InvitationOut
from parley.web.api import ERRORS, AcceptedOut
from parley.web.node import Node
from parley.web.security import AnyPrincipal, AnyStaff


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


class StaffMemberOut(BaseModel):
    user_id: int
    username: str
    display_name: str
    role: StaffRole
    presence: Presence
    status_text: str
    workgroup_ids: list[int]


class InvitationIn(_In):
    user_id: int
    note: Annotated[str, Field(max_length=1000)] = ""


class NoteIn(_In):
    client_id: Annotated[str, Field(min_length=1, max_length=64)]
    text: str
    confirm: bool = Field(
        default=False,
        description="Send it as written although a house rule warned (blocked_word_warning).",
    )


def router() -> APIRouter:
    """The routes, for every node: a handler reaches its own through ``parley: Node``."""
    api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["collaboration"])

    @api.get("/staff", deprecated=True)
    async def staff_directory(parley: Node, staff: AnyStaff) -> list[StaffMemberOut]:
        """Deprecated, kept for the invite dialog: every active account at once. Use ``GET
        /directory`` (search, paging, titles, photos); ``workgroup_ids`` is what only this
        route has, and it stays until the console's invite dialog moves."""
        return [
            StaffMemberOut(
                user_id=m.user_id,
                username=m.username,
                display_name=m.display_name,
                role=m.role,
                presence=m.presence,
                status_text=m.status_text,
                workgroup_ids=list(m.workgroups),
            )
            for m in await parley.invitations.directory(staff)
        ]

    @api.post("/conversations/{conversation_id}/invitations", status_code=201)
    async def invite(
        parley: Node, conversation_id: str, body: InvitationIn, staff: AnyStaff
    ) -> InvitationOut:
        return await parley.invitations.invite(staff, conversation_id, body.user_id, body.note)

    @api.get("/me/invitations")
    async def my_invitations(parley: Node, staff: AnyStaff) -> list[InvitationOut]:
        return await parley.invitations.pending(staff)

    @api.post("/invitations/{invitation_id}/accept")
    async def accept(parley: Node, invitation_id: str, staff: AnyStaff) -> AcceptedOut:
        return AcceptedOut(conversation_id=await parley.invitations.accept(staff, invitation_id))

    @api.post("/invitations/{invitation_id}/decline", status_code=204)
    async def decline(parley: Node, invitation_id: str, staff: AnyStaff) -> None:
        await parley.invitations.decline(staff, invitation_id)

    @api.post("/invitations/{invitation_id}/cancel", status_code=204)
    async def cancel(parley: Node, invitation_id: str, staff: AnyStaff) -> None:
        await parley.invitations.cancel(staff, invitation_id)

    @api.post("/conversations/{conversation_id}/leave", status_code=204)
    async def leave(parley: Node, conversation_id: str, who: AnyPrincipal) -> None:
        await parley.invitations.leave(who, conversation_id)

    @api.post("/conversations/{conversation_id}/notes")
    async def note(parley: Node, conversation_id: str, body: NoteIn, who: AnyPrincipal) -> EntryOut:
        return await parley.chat.send(
            who, conversation_id, body.client_id, body.text, private=True, confirm=body.confirm
        )

    return api
