"""REST routes for the archive: the policy, legal holds and notice (admins), the compliance
right (admins), search, reading and exports (supervisors and compliance readers), a
customer's data on request. Each handler resolves the principal and calls one method of
``ArchiveService``, where the rights are checked and the audit log written.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from parley.domain import retention
from parley.domain.conversation import Kind
from parley.protocol import ArchiveNoticeOut, CleanInput, ConversationOut, EntryOut
from parley.services.archive import (
    MAX_SEARCH_LIMIT,
    MAX_SEARCH_OFFSET,
    ArchivePolicy,
    CustomerData,
    Deleted,
)
from parley.storage.archive import ArchiveQuery, ExportRow, Hit, HoldRow
from parley.web.api import ERRORS
from parley.web.node import Node
from parley.web.security import Admin, AnyStaff

#: Database ids are 32-bit integers on both backends.
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


KeepDays = Annotated[int, Field(ge=1, le=retention.MAX_KEEP_DAYS)] | None


class PolicyIn(_In):
    keep_days: dict[Kind, KeepDays] = Field(
        default_factory=dict,
        description="Per kind: days to keep after the last activity, or null for forever. "
        "Kinds not named are left as they are.",
    )
    notice: Annotated[str, Field(max_length=retention.MAX_NOTICE_CHARS)] | None = Field(
        None, description="The one-line archive notice; null leaves it as it is."
    )


class HoldOut(BaseModel):
    id: int
    conversation_id: str | None
    customer_sub: str | None
    customer_email: str | None
    reason: str
    created_by: int | None
    created_at: datetime

    @classmethod
    def of(cls, row: HoldRow) -> "HoldOut":
        h = row.hold
        return cls(
            id=h.id,
            conversation_id=h.conversation_id,
            customer_sub=h.customer_sub,
            customer_email=h.customer_email,
            reason=h.reason,
            created_by=row.created_by,
            created_at=row.created_at,
        )


class PolicyOut(BaseModel):
    keep_days: dict[Kind, int | None] = Field(description="null: kept forever.")
    notice: str
    holds: list[HoldOut]
    compliance_users: list[int] = Field(
        description="The ids of the accounts holding the compliance right (deactivated ones "
        "included: they hold it again if reactivated)."
    )

    @classmethod
    def of(cls, p: ArchivePolicy) -> "PolicyOut":
        return cls(
            keep_days=p.keep_days,
            notice=p.notice,
            holds=[HoldOut.of(h) for h in p.holds],
            compliance_users=p.compliance_users,
        )


class RightsOut(BaseModel):
    """What the caller may do with the archive; each route checks it again."""

    compliance: bool = Field(description="Holds the compliance right.")
    search: bool = Field(description="Search, read and export (`/archive/search`, ...).")
    customer_export: bool = Field(description="`POST /archive/customers/export`.")
    customer_delete: bool = Field(description="`POST /archive/customers/delete`.")
    policy: bool = Field(description="`/admin/archive`, holds, the compliance right.")


class HoldIn(_In):
    conversation_id: Annotated[str, Field(max_length=32)] | None = None
    customer_sub: Annotated[str, Field(max_length=255)] | None = None
    customer_email: Annotated[str, Field(max_length=254)] | None = None
    reason: Annotated[str, Field(max_length=retention.MAX_HOLD_REASON_CHARS)] = ""


class ComplianceIn(_In):
    compliance: bool


class HitOut(BaseModel):
    conversation_id: str
    kind: Kind
    seq: int
    entry_kind: str
    author: str | None
    text: str
    created_at: datetime

    @classmethod
    def of(cls, h: Hit) -> "HitOut":
        return cls(
            conversation_id=h.conversation_id,
            kind=h.kind,
            seq=h.seq,
            entry_kind=h.entry_kind,
            author=h.author,
            text=h.text,
            created_at=h.created_at,
        )


class SearchIn(_In):
    words: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    kind: Kind | None = None
    user_id: int | None = Field(None, ge=1, le=2**31 - 1, description="A staff member taking part.")
    customer_sub: Annotated[str, Field(max_length=255)] | None = None
    customer_email: Annotated[str, Field(max_length=254)] | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None

    def query(self, offset: int = 0, limit: int = 50) -> ArchiveQuery:
        return ArchiveQuery(
            words=self.words,
            kind=self.kind,
            user_id=self.user_id,
            customer_sub=self.customer_sub,
            customer_email=self.customer_email,
            since=self.since,
            until=self.until,
            offset=offset,
            limit=limit,
        )


class ExportOut(BaseModel):
    id: str
    state: Literal["running", "done", "failed"]
    total: int = Field(description="Conversations in the export (0 until counted).")
    done: int
    percent: int = Field(description="0 to 100, for a progress bar.")
    created_at: datetime
    finished_at: datetime | None
    error: str | None

    @classmethod
    def of(cls, row: ExportRow) -> "ExportOut":
        if row.state == "done":
            percent = 100
        elif row.total == 0:
            percent = 0
        else:
            percent = min(99, row.done * 100 // row.total)
        return cls(
            id=row.id,
            state=row.state,
            total=row.total,
            done=row.done,
            percent=percent,
            created_at=row.created_at,
            finished_at=row.finished_at,
            error=row.error,
        )


class TranscriptOut(BaseModel):
    conversation: ConversationOut
    entries: list[EntryOut]


class CustomerIn(_In):
    sub: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    email: EmailStr | None = None
    confirm_email: bool = Field(
        False,
        description="An email is what a visitor typed, not an identity: an admin confirms "
        "they checked it is the customer's.",
    )


class CustomerDataOut(BaseModel):
    conversations: list[dict[str, Any]]
    left_messages: list[dict[str, Any]]
    profile: dict[str, Any] | None = Field(
        None, description="By `sub`: the customer's profile with its staff notes, if any."
    )

    @classmethod
    def of(cls, d: CustomerData) -> "CustomerDataOut":
        return cls(conversations=d.conversations, left_messages=d.left_messages, profile=d.profile)


class KeptOut(BaseModel):
    what: str = Field(description="A conversation id, or `left_messages`.")
    hold_id: int
    reason: str


class DeletedOut(BaseModel):
    conversations: list[str]
    left_messages: int
    kept: list[KeptOut] = Field(description="What a legal hold keeps, and which hold.")
    open_chats: list[str] = Field(description="Chats not ended yet: not deleted.")

    @classmethod
    def of(cls, d: Deleted) -> "DeletedOut":
        return cls(
            conversations=d.conversations,
            left_messages=d.left_messages,
            kept=[KeptOut(what=what, hold_id=h.id, reason=h.reason) for what, h in d.kept],
            open_chats=d.open_chats,
        )


def router() -> APIRouter:
    """The routes, for every node: a handler reaches its own through ``parley: Node``."""
    api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["archive"])

    @api.get("/admin/archive")
    async def get_policy(parley: Node, admin: Admin) -> PolicyOut:
        return PolicyOut.of(await parley.archive.policy(admin))

    @api.put("/admin/archive")
    async def set_policy(parley: Node, body: PolicyIn, admin: Admin) -> PolicyOut:
        return PolicyOut.of(await parley.archive.set_policy(admin, body.keep_days, body.notice))

    @api.post("/admin/archive/holds", status_code=201)
    async def add_hold(parley: Node, body: HoldIn, admin: Admin) -> HoldOut:
        row = await parley.archive.add_hold(
            admin, body.conversation_id, body.customer_sub, body.customer_email, body.reason
        )
        return HoldOut.of(row)

    @api.delete("/admin/archive/holds/{hold_id}", status_code=204)
    async def release_hold(parley: Node, hold_id: Id, admin: Admin) -> Response:
        await parley.archive.release_hold(admin, hold_id)
        return Response(status_code=204)

    @api.put("/admin/users/{user_id}/compliance", status_code=204)
    async def set_compliance(
        parley: Node, user_id: Id, body: ComplianceIn, admin: Admin
    ) -> Response:
        await parley.archive.set_compliance(admin, user_id, body.compliance)
        return Response(status_code=204)

    @api.get("/archive/notice")
    async def notice(parley: Node, staff: AnyStaff) -> ArchiveNoticeOut:
        return (await parley.archive.staff_notice()).out()

    @api.get("/archive/me")
    async def rights(parley: Node, staff: AnyStaff) -> RightsOut:
        r = await parley.archive.rights(staff)
        return RightsOut(
            compliance=r.compliance,
            search=r.search,
            customer_export=r.customer_export,
            customer_delete=r.customer_delete,
            policy=r.policy,
        )

    @api.post("/archive/search")
    async def search(
        parley: Node,
        body: SearchIn,
        staff: AnyStaff,
        offset: Annotated[int, Query(ge=0, le=MAX_SEARCH_OFFSET)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_LIMIT)] = 50,
    ) -> list[HitOut]:
        hits = await parley.archive.search(staff, body.query(offset, limit))
        return [HitOut.of(h) for h in hits]

    @api.get("/archive/conversations/{conversation_id}")
    async def read(parley: Node, conversation_id: str, staff: AnyStaff) -> TranscriptOut:
        conv, entries = await parley.archive.read(staff, conversation_id)
        return TranscriptOut(
            conversation=ConversationOut.of(conv), entries=[EntryOut.of(e) for e in entries]
        )

    @api.post("/archive/exports", status_code=202)
    async def start_export(parley: Node, body: SearchIn, staff: AnyStaff) -> ExportOut:
        return ExportOut.of(await parley.archive.start_export(staff, body.query()))

    @api.get("/archive/exports/{export_id}")
    async def export_state(parley: Node, export_id: str, staff: AnyStaff) -> ExportOut:
        return ExportOut.of(await parley.archive.export(staff, export_id))

    @api.get(
        "/archive/exports/{export_id}/download",
        response_class=Response,
        responses={200: {"content": {"application/x-ndjson": {}, "application/zip": {}}}},
    )
    async def download(
        parley: Node,
        export_id: str,
        staff: AnyStaff,
        format: Annotated[Literal["jsonl", "html"], Query()] = "jsonl",
    ) -> Response:
        data = await parley.archive.export_file(staff, export_id, format)
        if format == "jsonl":
            media, name = "application/x-ndjson", f"archive-{export_id}.jsonl"
        else:
            media, name = "application/zip", f"archive-{export_id}.zip"
        return Response(
            data,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @api.post("/archive/customers/export")
    async def customer_export(parley: Node, body: CustomerIn, staff: AnyStaff) -> CustomerDataOut:
        data = await parley.archive.customer_export(
            staff, body.sub, None if body.email is None else str(body.email), body.confirm_email
        )
        return CustomerDataOut.of(data)

    @api.post("/archive/customers/delete")
    async def customer_delete(parley: Node, body: CustomerIn, admin: Admin) -> DeletedOut:
        deleted = await parley.archive.customer_delete(
            admin, body.sub, None if body.email is None else str(body.email), body.confirm_email
        )
        return DeletedOut.of(deleted)

    return api
