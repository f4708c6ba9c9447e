"""REST routes about customers (``docs/protocol.md``, "Customer profiles" and "Transcript by
email"): the profile of a chat's customer with the staff's notes and tags (staff only: no
visitor path reads it), and the transcript an ended chat's customer asks to be emailed.

Each handler resolves the principal and calls one service method; permissions are checked
there (``domain.access``).
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from parley.domain.profiles import Changes, Note
from parley.protocol import CleanInput, ConversationOut
from parley.services.profiles import ProfileView
from parley.web.api import ERRORS, RATE_LIMITED
from parley.web.node import Node
from parley.web.security import AnyPrincipal, AnyStaff

ConversationId = Annotated[str, Path(min_length=1, max_length=64)]
NoteId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


class NoteOut(BaseModel):
    id: int
    text: str
    author_id: int | None = Field(description="None once the author's account is gone.")
    author_name: str
    created_at: datetime

    @classmethod
    def of(cls, n: Note) -> "NoteOut":
        return cls(
            id=n.id,
            text=n.text,
            author_id=n.author_id,
            author_name=n.author_name,
            created_at=n.created_at,
        )


class VerifiedOut(BaseModel):
    sub: str
    name: str
    email: str


class ProfileOut(BaseModel):
    key: Literal["verified", "browser"] = Field(
        description="What the profile is of: a verified customer (the identity token's `sub`) "
        "or the same browser (an anonymous visitor). Never a typed email."
    )
    stored: bool = Field(description="False until someone edits the profile or adds a note.")
    name: str = Field(description="As staff wrote it; empty: not set.")
    email: str = Field(description="As staff wrote it; empty: not set. Links nothing.")
    company: str
    tags: list[str]
    verified: VerifiedOut | None = Field(description="What the company's site signed.")
    fields: dict[str, str] = Field(
        description="The hidden fields the company's page sent with the newest chat."
    )
    typed_name: str = Field(description="What the visitor typed into the newest chat's form.")
    typed_email: str
    notes: list[NoteOut] = Field(description="Staff only, newest first.")
    conversations: list[ConversationOut] = Field(
        description="The customer's conversations you may read, newest first (this one too)."
    )
    updated_at: datetime | None
    updated_by: int | None

    @classmethod
    def of(cls, v: ProfileView) -> "ProfileOut":
        p = v.profile
        return cls(
            key="verified" if p.link.kind == "sub" else "browser",
            stored=p.id != 0,
            name=p.name,
            email=p.email,
            company=p.company,
            tags=list(p.tags),
            verified=None
            if v.verified is None
            else VerifiedOut(sub=v.verified.sub, name=v.verified.name, email=v.verified.email),
            fields=v.fields,
            typed_name=v.typed_name,
            typed_email=v.typed_email,
            notes=[NoteOut.of(n) for n in p.notes],
            conversations=[ConversationOut.of(c) for c in v.conversations],
            updated_at=p.updated_at,
            updated_by=p.updated_by,
        )


class ProfileIn(_In):
    # Loosely bounded here, so that a value too long gets the domain's answer with its limit.
    name: Annotated[str | None, Field(max_length=10_000)] = None
    email: Annotated[str | None, Field(max_length=10_000)] = None
    company: Annotated[str | None, Field(max_length=10_000)] = None
    tags: Annotated[
        list[Annotated[str, Field(max_length=10_000)]] | None, Field(max_length=1000)
    ] = Field(None, description="The whole list (replaces it); null: unchanged.")


class NoteIn(_In):
    text: Annotated[str, Field(max_length=100_000)]


class TranscriptEmailIn(_In):
    email: Annotated[str, Field(max_length=10_000)] = Field(
        description="Where to send it. Only that: it identifies nobody."
    )


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1", responses=ERRORS)
    profile = "/conversations/{conversation_id}/profile"

    @api.get(profile, tags=["agents"])
    async def customer_profile(
        parley: Node, conversation_id: ConversationId, staff: AnyStaff
    ) -> ProfileOut:
        """The profile of the chat's customer. A chat you may not read: `not_found`."""
        return ProfileOut.of(await parley.profiles.profile(staff, conversation_id))

    @api.patch(profile, tags=["agents"])
    async def update_customer_profile(
        parley: Node, conversation_id: ConversationId, body: ProfileIn, staff: AnyStaff
    ) -> ProfileOut:
        """Change the fields given (audited as `customer.updated`)."""
        changes = Changes(name=body.name, email=body.email, company=body.company, tags=body.tags)
        await parley.profiles.update(staff, conversation_id, changes)
        return ProfileOut.of(await parley.profiles.profile(staff, conversation_id))

    @api.post(profile + "/notes", status_code=201, tags=["agents"])
    async def add_customer_note(
        parley: Node, conversation_id: ConversationId, body: NoteIn, staff: AnyStaff
    ) -> NoteOut:
        """A staff-only note about the customer, kept across their chats."""
        return NoteOut.of(await parley.profiles.add_note(staff, conversation_id, body.text))

    @api.delete(profile + "/notes/{note_id}", status_code=204, tags=["agents"])
    async def delete_customer_note(
        parley: Node, conversation_id: ConversationId, note_id: NoteId, staff: AnyStaff
    ) -> None:
        """Its author, a supervisor or an admin."""
        await parley.profiles.delete_note(staff, conversation_id, note_id)

    @api.post(
        "/conversations/{conversation_id}/transcript-email",
        status_code=202,
        tags=["visitors"],
        responses=RATE_LIMITED,
    )
    async def email_transcript(
        parley: Node,
        conversation_id: ConversationId,
        body: TranscriptEmailIn,
        principal: AnyPrincipal,
    ) -> None:
        """The ended chat's visitor (`X-Visitor-Token`) asks for its transcript by email."""
        await parley.transcripts.email(principal, conversation_id, body.email)

    return api
