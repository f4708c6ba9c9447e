"""REST routes of the widget's branding (``docs/protocol.md``, "Branding"): admins read and
set a workgroup's colour, greeting and corner and upload its logo; anyone fetches the logo; and
whoever reads a chat (a visitor their own, with ``X-Visitor-Token``) fetches the photos of the
staff who are or were in it.

Each handler resolves the principal and calls one ``BrandingService`` method; permissions are
checked there (``domain.access``). The logo upload is the raw request body (any declared type:
the content decides, ``parley.photos``); its size limit is ``max_photo_bytes`` (``web.limits``).
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from parley.domain.branding import MAX_GREETING_CHARS, Branding
from parley.domain.branding import Position as BrandPosition
from parley.photos import Photo
from parley.protocol import CleanInput
from parley.web.api import ERRORS, WidgetBrandingOut
from parley.web.node import Node
from parley.web.security import Admin, AnyPrincipal


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


class BrandingIn(_In):
    # Loosely bounded here, so that a value over a limit gets the domain's answer with its limit.
    color: Annotated[str | None, Field(max_length=100)] = Field(
        None,
        description="#rrggbb (or #rgb); null or empty: Parley's own blue. White text on it must "
        "reach a contrast ratio of 4.5:1, else 422 `low_contrast` with `details.ratio`.",
        examples=["#1f6b45"],
    )
    greeting: Annotated[str, Field(max_length=10 * MAX_GREETING_CHARS)] = Field(
        "", description=f"Plain text, at most {MAX_GREETING_CHARS} characters; line breaks allowed."
    )
    position: BrandPosition = BrandPosition.RIGHT


class EmbedOut(BaseModel):
    """What the embed snippet needs: where browsers reach Parley, and which sites may embed it."""

    public_url: str | None = Field(
        description="The `public_url` setting (null: not set; use the address the console is "
        "reached at)."
    )
    allowed_origins: list[str] = Field(
        description="The `--allowed-origin` sites, which may frame the widget; empty: only "
        "Parley's own origin (a company site cannot embed the widget yet)."
    )


PNG_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}}, "description": "The image (re-encoded PNG)."}
}
RAW_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
    }
}


def image_response(request: Request, found: Photo) -> Response:
    """The image with its ETag (304 when the browser has it); the security headers are
    ``web.headers``'s, as for every answer (``nosniff``, ``default-src 'none'``)."""
    etag = f'"{found.etag}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(found.data, media_type=found.media_type, headers={"ETag": etag})


def router() -> APIRouter:
    """The routes, for every node: a handler reaches its own through ``parley: Node``."""
    api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["branding"])

    def out(slug: str, b: Branding) -> WidgetBrandingOut:
        return WidgetBrandingOut.of(slug, b)

    @api.get("/admin/embed")
    async def embed(parley: Node, admin: Admin) -> EmbedOut:
        """For the console's copy-ready embed snippet."""
        return EmbedOut(
            public_url=parley.settings.public_url,
            allowed_origins=list(parley.settings.allowed_origins),
        )

    @api.get("/admin/workgroups/{slug}/branding")
    async def get_branding(parley: Node, slug: str, admin: Admin) -> WidgetBrandingOut:
        return out(slug, await parley.branding.get(admin, slug))

    @api.put("/admin/workgroups/{slug}/branding")
    async def set_branding(
        parley: Node, slug: str, body: BrandingIn, admin: Admin
    ) -> WidgetBrandingOut:
        saved = await parley.branding.set(admin, slug, body.color, body.greeting, body.position)
        return out(slug, saved)

    @api.put("/admin/workgroups/{slug}/logo", openapi_extra=RAW_BODY)
    async def set_logo(
        parley: Node, slug: str, request: Request, admin: Admin
    ) -> WidgetBrandingOut:
        # Counted before the body is read: each upload costs a decode.
        await parley.limiter.hit(
            parley.rules.photo,
            f"logo:{admin.user_id}",
            message="too many logo uploads; try again later",
        )
        data = await request.body()
        return out(slug, await parley.branding.set_logo(admin, slug, data))

    @api.delete("/admin/workgroups/{slug}/logo")
    async def delete_logo(parley: Node, slug: str, admin: Admin) -> WidgetBrandingOut:
        return out(slug, await parley.branding.delete_logo(admin, slug))

    @api.get(
        "/workgroups/{slug}/logo",
        response_class=Response,
        responses=PNG_RESPONSE,
        tags=["visitors"],
    )
    async def logo(parley: Node, slug: str, request: Request) -> Response:
        """Public, like the workgroup's status."""
        return image_response(request, await parley.branding.logo(slug))

    @api.get(
        "/conversations/{conversation_id}/staff/{user_id}/photo",
        response_class=Response,
        responses=PNG_RESPONSE,
        tags=["conversations"],
    )
    async def participant_photo(
        parley: Node,
        request: Request,
        conversation_id: Annotated[str, Path(max_length=64)],
        user_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
        who: AnyPrincipal,
    ) -> Response:
        """The photo of a staff member who is or was in the conversation, for whoever reads
        it (a visitor: ``X-Visitor-Token``). Anyone else's, or none: 404."""
        found = await parley.branding.participant_photo(who, conversation_id, user_id)
        return image_response(request, found)

    return api
