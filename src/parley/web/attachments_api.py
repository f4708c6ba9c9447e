"""REST routes of attachments (``docs/protocol.md``, "Attachments"): a participant uploads a file
into a customer chat, whoever reads the chat fetches it (and an image's thumbnail), and admins
read and set each workgroup's policy.

An upload is the raw request body, its ``Content-Type`` the declared type and its name and
``client_id`` in the query (so that a browser sends a picked, dropped or pasted file as it is,
with upload progress). Its size is refused with 413 before the body is read when its
``Content-Length`` is over the chat's policy (``web.limits`` refuses anything over the node's
``max_attachment_bytes`` earlier still), and as soon as a streamed body goes over it. A file is
served with ``Content-Disposition: attachment`` (its name sanitised and RFC 5987 encoded); the
security headers (``nosniff``, ``default-src 'none'; sandbox``) are ``web.headers``'s.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from parley.domain.attachments import (
    KNOWN_TYPES,
    MAX_NAME_CHARS,
    MAX_PER_CHAT_CEILING,
    AttachmentTooLarge,
    Policy,
    content_disposition,
)
from parley.protocol import CleanInput, EntryOut
from parley.services.attachments import Upload
from parley.web.api import ERRORS, RATE_LIMITED
from parley.web.errors import ErrorResponse
from parley.web.limits import client_ip
from parley.web.node import Node
from parley.web.security import Admin, AnyPrincipal

ConversationId = Annotated[str, Path(max_length=64)]
AttachmentId = Annotated[str, Path(max_length=64)]


class AttachmentPolicyOut(BaseModel):
    max_bytes: int = Field(description="The largest file, in bytes.")
    allowed_types: list[str] = Field(description="The media types accepted (empty: none).")
    max_per_chat: int = Field(description="How many files one chat may hold (0: none).")

    @classmethod
    def of(cls, p: Policy) -> "AttachmentPolicyOut":
        return cls(
            max_bytes=p.max_bytes, allowed_types=list(p.allowed_types), max_per_chat=p.max_per_chat
        )


class AttachmentPolicyIn(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)

    max_bytes: int = Field(ge=1, le=2**31 - 1, description="At most `max_attachment_bytes`.")
    allowed_types: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=20)] = (
        Field(description=f"Among: {', '.join(KNOWN_TYPES)}.")
    )
    max_per_chat: int = Field(ge=0, le=MAX_PER_CHAT_CEILING)


RAW_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in KNOWN_TYPES},
    }
}
#: The file storage (an S3-compatible bucket) did not answer: nothing was stored.
STORAGE_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorResponse,
        "description": "The file storage did not answer: `storage_unavailable`, with a "
        "`Retry-After` header (seconds); an upload stored nothing.",
    }
}
FILE_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "The file."},
    **STORAGE_UNAVAILABLE,
}


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["attachments"])

    @api.get("/admin/workgroups/{slug}/attachments")
    async def get_policy(parley: Node, slug: str, admin: Admin) -> AttachmentPolicyOut:
        return AttachmentPolicyOut.of(await parley.attachments.policy(admin, slug))

    @api.put("/admin/workgroups/{slug}/attachments")
    async def set_policy(
        parley: Node, slug: str, body: AttachmentPolicyIn, admin: Admin
    ) -> AttachmentPolicyOut:
        saved = await parley.attachments.set_policy(
            admin, slug, body.max_bytes, body.allowed_types, body.max_per_chat
        )
        return AttachmentPolicyOut.of(saved)

    @api.get("/conversations/{conversation_id}/attachments/policy")
    async def chat_policy(
        parley: Node, conversation_id: ConversationId, who: AnyPrincipal
    ) -> AttachmentPolicyOut:
        """The limits of the chat's files, for whoever reads it (a visitor their own)."""
        return AttachmentPolicyOut.of(await parley.attachments.chat_policy(who, conversation_id))

    @api.post(
        "/conversations/{conversation_id}/attachments",
        openapi_extra=RAW_UPLOAD,
        responses=RATE_LIMITED | STORAGE_UNAVAILABLE,
    )
    async def upload(
        parley: Node,
        request: Request,
        conversation_id: ConversationId,
        who: AnyPrincipal,
        client_id: Annotated[str, Query(min_length=1, max_length=64)],
        name: Annotated[str, Query(max_length=4 * MAX_NAME_CHARS)],
        private: bool = False,
    ) -> EntryOut:
        """Send a file: the raw body, its type in ``Content-Type``."""
        service = parley.attachments
        # Counted before the body is read: each upload costs a write (an image, a decode).
        await parley.limiter.hit(
            service.rule,
            conversation_id,
            client_ip(request.scope),
            message="too many files; wait a moment and send again",
        )
        limit = await service.upload_limit(who, conversation_id)
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        up = Upload(
            client_id=client_id,
            name=name,
            media_type=request.headers.get("content-type", ""),
            data=b"".join(chunks),
            private=private,
        )
        return await service.upload(who, conversation_id, up)

    @api.get(
        "/conversations/{conversation_id}/attachments/{attachment_id}",
        response_class=Response,
        responses=FILE_RESPONSE,
    )
    async def download(
        parley: Node,
        conversation_id: ConversationId,
        attachment_id: AttachmentId,
        who: AnyPrincipal,
    ) -> Response:
        found = await parley.attachments.file(who, conversation_id, attachment_id, thumbnail=False)
        return _served(found.name, found.media_type, found.data)

    @api.get(
        "/conversations/{conversation_id}/attachments/{attachment_id}/thumbnail",
        response_class=Response,
        responses=FILE_RESPONSE,
    )
    async def thumbnail(
        parley: Node,
        conversation_id: ConversationId,
        attachment_id: AttachmentId,
        who: AnyPrincipal,
    ) -> Response:
        found = await parley.attachments.file(who, conversation_id, attachment_id, thumbnail=True)
        return _served(found.name, found.media_type, found.data)

    return api


def _too_large(limit: int) -> AttachmentTooLarge:
    return AttachmentTooLarge(f"a file is at most {limit} bytes here", limit)


def _served(name: str, media_type: str, data: bytes) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(name)},
    )
