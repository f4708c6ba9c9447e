"""REST routes of the staff directory: search with presence, profiles (title, photo) and each
member's buddy list (``docs/protocol.md``, "Directory and buddy list"); and the company's
message templates (``templates_router``).

Each handler resolves the principal and calls one ``DirectoryService`` method; permissions are
checked there. The photo upload is the raw request body (any declared type: the content
decides, ``parley.photos``); its size limit is ``max_photo_bytes`` (``web.limits``).
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from parley.domain import directory as policy
from parley.domain.access import StaffRole
from parley.domain.presence import Presence
from parley.domain.templates import Template, TemplateKind, Tone
from parley.protocol import CleanInput
from parley.services.directory import MAX_PAGE, Buddies, photo_url
from parley.storage.directory import DirectoryRow
from parley.web.api import ERRORS
from parley.web.node import Node
from parley.web.params import RowId
from parley.web.security import Admin, AnyStaff


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


class DirectoryEntryOut(BaseModel):
    user_id: int
    username: str
    display_name: str
    role: StaffRole
    title: str
    presence: Presence
    status_text: str
    idle: bool = Field(description="Away because every browser of the member is idle.")
    photo_url: str | None = Field(description="The photo (PNG), None without one.")

    @classmethod
    def of(cls, row: DirectoryRow) -> "DirectoryEntryOut":
        return cls(
            user_id=row.user_id,
            username=row.username,
            display_name=row.display_name,
            role=row.role,
            title=row.title,
            presence=row.presence,
            status_text=row.status_text,
            idle=row.away_from_idle,
            photo_url=photo_url(row),
        )


class ProfileIn(_In):
    # Loosely bounded here, so that a title too long gets the domain's answer with its limit.
    title: Annotated[str, Field(max_length=10_000)]


#: A staff member's id in a body: a positive integer that fits the database's integer (a larger
#: one is no account anyway, and would overflow the driver: 422 instead of a 500).
StaffId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class BuddyGroupIO(_In):
    name: Annotated[str, Field(max_length=10_000)]
    user_ids: Annotated[list[StaffId], Field(max_length=10_000)] = []


class BuddiesIn(_In):
    favourites: Annotated[list[StaffId], Field(max_length=10_000)] = []
    groups: Annotated[list[BuddyGroupIO], Field(max_length=10_000)] = []


class BuddiesOut(BaseModel):
    favourites: list[int]
    groups: list[BuddyGroupIO]
    members: list[DirectoryEntryOut] = Field(description="The directory entry of everyone listed.")

    @classmethod
    def of(cls, found: Buddies) -> "BuddiesOut":
        return cls(
            favourites=list(found.buddies.favourites),
            groups=[
                BuddyGroupIO(name=g.name, user_ids=list(g.user_ids)) for g in found.buddies.groups
            ],
            members=[DirectoryEntryOut.of(m) for m in found.members],
        )


PHOTO_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}}, "description": "The photo."}
}


def router() -> APIRouter:
    """The routes, for every node: a handler reaches its own through ``parley: Node``."""
    api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["directory"])

    @api.get("/directory")
    async def directory(
        parley: Node,
        staff: AnyStaff,
        q: Annotated[str, Query(max_length=policy.MAX_QUERY_CHARS)] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> list[DirectoryEntryOut]:
        rows = await parley.directory.search(staff, q, limit=limit, offset=offset)
        return [DirectoryEntryOut.of(r) for r in rows]

    @api.get("/directory/{user_id}")
    async def directory_entry(parley: Node, user_id: RowId, staff: AnyStaff) -> DirectoryEntryOut:
        return DirectoryEntryOut.of(await parley.directory.entry(staff, user_id))

    @api.put("/me/profile")
    async def set_profile(parley: Node, body: ProfileIn, staff: AnyStaff) -> DirectoryEntryOut:
        return DirectoryEntryOut.of(await parley.directory.set_title(staff, body.title))

    @api.put(
        "/me/photo",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            }
        },
    )
    async def set_photo(parley: Node, request: Request, staff: AnyStaff) -> DirectoryEntryOut:
        # Counted before the body is read: each upload costs a decode.
        await parley.limiter.hit(
            parley.rules.photo,
            str(staff.user_id),
            message="too many photo uploads; try again later",
        )
        data = await request.body()
        return DirectoryEntryOut.of(await parley.directory.set_photo(staff, data))

    @api.delete("/me/photo", status_code=204)
    async def delete_photo(parley: Node, staff: AnyStaff) -> None:
        await parley.directory.delete_photo(staff)

    @api.get("/staff/{user_id}/photo", response_class=Response, responses=PHOTO_RESPONSE)
    async def photo(parley: Node, request: Request, user_id: RowId, staff: AnyStaff) -> Response:
        found = await parley.directory.photo(staff, user_id)
        etag = f'"{found.etag}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(found.data, media_type=found.media_type, headers={"ETag": etag})

    @api.get("/me/buddies")
    async def buddies(parley: Node, staff: AnyStaff) -> BuddiesOut:
        return BuddiesOut.of(await parley.directory.buddies(staff))

    @api.put("/me/buddies")
    async def set_buddies(parley: Node, body: BuddiesIn, staff: AnyStaff) -> BuddiesOut:
        found = await parley.directory.set_buddies(
            staff, body.favourites, [(g.name, g.user_ids) for g in body.groups]
        )
        return BuddiesOut.of(found)

    return api


# Message templates --------------------------------------------------------------------------


class TemplateIn(_In):
    # Loosely bounded here, so that a text too long gets the domain's answer with its limit.
    title: Annotated[str, Field(max_length=10_000)]
    text: Annotated[str, Field(max_length=10_000)]
    kind: TemplateKind = TemplateKind.OTHER
    tone: Tone = Tone.PROFESSIONAL


class TemplateOut(BaseModel):
    id: int
    title: str
    text: str
    kind: TemplateKind
    tone: Tone

    @classmethod
    def of(cls, t: Template) -> "TemplateOut":
        return cls(id=t.id, title=t.title, text=t.text, kind=t.kind, tone=t.tone)


def templates_router() -> APIRouter:
    api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["templates"])

    @api.get("/templates")
    async def templates(parley: Node, staff: AnyStaff) -> list[TemplateOut]:
        return [TemplateOut.of(t) for t in await parley.templates.templates(staff)]

    @api.post("/admin/templates", status_code=201)
    async def create_template(parley: Node, body: TemplateIn, admin: Admin) -> TemplateOut:
        made = await parley.templates.create(admin, body.title, body.text, body.kind, body.tone)
        return TemplateOut.of(made)

    @api.put("/admin/templates/{template_id}")
    async def update_template(
        parley: Node, template_id: RowId, body: TemplateIn, admin: Admin
    ) -> TemplateOut:
        changed = await parley.templates.update(
            admin, template_id, body.title, body.text, body.kind, body.tone
        )
        return TemplateOut.of(changed)

    @api.delete("/admin/templates/{template_id}", status_code=204)
    async def delete_template(parley: Node, template_id: RowId, admin: Admin) -> None:
        await parley.templates.delete(admin, template_id)

    return api
