"""REST routes under ``/api/v1``. Each handler resolves the principal (``security``), calls
one service method, and returns a schema; errors are mapped in ``errors``."""

# No `from __future__ import annotations` here: FastAPI must see the dependency aliases that
# `router()` builds locally, which string annotations would hide.

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from parley.bootstrap import Parley
from parley.domain.access import Principal, Staff, StaffRole
from parley.domain.errors import InvalidInput
from parley.domain.forms import FormField
from parley.domain.presence import Presence
from parley.protocol import CleanInput, ConversationOut, EntryOut, OfferOut
from parley.services.admin import WorkgroupSettings
from parley.services.chat import ChatForm
from parley.storage.store import UserRow, WorkgroupRow
from parley.web import security
from parley.web.errors import ErrorResponse

MAX_EXTRA_FIELDS = 20


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


# Schemas --------------------------------------------------------------------------------------


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: StaffRole
    active: bool

    @classmethod
    def of(cls, user: UserRow) -> "UserOut":
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            active=user.active,
        )


class StaffOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: StaffRole

    @classmethod
    def of(cls, staff: Staff) -> "StaffOut":
        return cls(
            id=staff.user_id,
            username=staff.username,
            display_name=staff.display_name,
            role=staff.role,
        )


class LoginIn(_In):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class SessionOut(BaseModel):
    user: StaffOut
    csrf_token: str | None = Field(
        description="Echo in X-CSRF-Token on cookie-authenticated writes."
    )


class TokenIn(_In):
    label: Annotated[str, Field(max_length=128)] = ""


class TokenOut(BaseModel):
    token: str


class UserIn(_In):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=8, max_length=1024)]
    role: StaffRole = StaffRole.AGENT
    display_name: Annotated[str, Field(max_length=128)] = ""
    workgroups: list[str] = Field(default_factory=list, max_length=100)


class UserPatch(_In):
    role: StaffRole | None = None
    active: bool | None = None
    password: Annotated[str | None, Field(min_length=8, max_length=1024)] = None
    display_name: Annotated[str | None, Field(min_length=1, max_length=128)] = None


class FormFieldIO(_In):
    """An extra field of the pre-chat form; ``name`` is the key in the chat's ``extra``."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    label: Annotated[str, Field(min_length=1, max_length=128)]
    required: bool = False

    @classmethod
    def of(cls, f: FormField) -> "FormFieldIO":
        return cls(name=f.name, label=f.label, required=f.required)


class WorkgroupIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    button_text: Annotated[str, Field(max_length=128)] = ""
    offer_timeout_secs: Annotated[int, Field(ge=5, le=600)] = 30
    wait_timeout_secs: Annotated[int, Field(ge=10, le=86_400)] = 300
    max_chats: Annotated[int, Field(ge=1, le=100)] = 3
    form_fields: list[FormFieldIO] = Field(default_factory=list, max_length=10)

    def settings(self) -> WorkgroupSettings:
        return WorkgroupSettings(
            self.name,
            self.button_text,
            self.offer_timeout_secs,
            self.wait_timeout_secs,
            self.max_chats,
            tuple(FormField(f.name, f.label, f.required) for f in self.form_fields),
        )


class WorkgroupCreate(WorkgroupIn):
    slug: Annotated[str, Field(min_length=1, max_length=64)]


class WorkgroupOut(BaseModel):
    id: int
    slug: str
    name: str
    button_text: str
    offer_timeout_secs: int
    wait_timeout_secs: int
    max_chats: int
    form_fields: list[FormFieldIO]
    members: list[str]

    @classmethod
    def of(cls, wg: WorkgroupRow, members: list[str]) -> "WorkgroupOut":
        return cls(
            id=wg.id,
            slug=wg.slug,
            name=wg.name,
            button_text=wg.button_text,
            offer_timeout_secs=wg.offer_timeout_secs,
            wait_timeout_secs=wg.wait_timeout_secs,
            max_chats=wg.max_chats,
            form_fields=[FormFieldIO.of(f) for f in wg.form_fields],
            members=members,
        )


class MembersIn(_In):
    usernames: list[Annotated[str, Field(max_length=64)]] = Field(max_length=10_000)


class WorkgroupStatusOut(BaseModel):
    slug: str
    name: str
    button_text: str
    open: bool = Field(description="Somebody is available to answer.")
    form_fields: list[FormFieldIO] = Field(
        description="Extra fields of the pre-chat form; answers go in the chat's `extra`."
    )


class ChatIn(_In):
    """The pre-chat form."""

    name: Annotated[str, Field(min_length=1, max_length=128)]
    email: EmailStr | None = None
    question: Annotated[str, Field(max_length=4000)] = ""
    page: Annotated[str, Field(max_length=2048)] = ""
    extra: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=1024)]] = (
        Field(default_factory=dict)
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a name is required")
        return value.strip()

    @field_validator("extra")
    @classmethod
    def _extra(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_EXTRA_FIELDS:
            raise ValueError(f"at most {MAX_EXTRA_FIELDS} extra fields")
        return value


class ChatOut(BaseModel):
    conversation: ConversationOut
    visitor_token: str = Field(
        description="Resumes this conversation (X-Visitor-Token, or hello.visitor_token)."
    )
    position: int | None


class PresenceIn(_In):
    presence: Presence
    status_text: Annotated[str, Field(max_length=140)] = ""


class PresenceOut(BaseModel):
    presence: Presence
    status_text: str


class MessageIn(_In):
    client_id: Annotated[str, Field(min_length=1, max_length=64)]
    text: str


class TranscriptOut(BaseModel):
    conversation: ConversationOut
    entries: list[EntryOut]


class AcceptedOut(BaseModel):
    conversation_id: str


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 422)
}


def router(parley: Parley) -> APIRouter:
    principal, staff_dep, admin_dep = security.dependencies(parley.auth)
    AnyPrincipal = Annotated[Principal, Depends(principal)]
    AnyStaff = Annotated[Staff, Depends(staff_dep)]
    Admin = Annotated[Staff, Depends(admin_dep)]
    api = APIRouter(prefix="/api/v1", responses=_ERRORS)
    settings = parley.settings

    # Auth -------------------------------------------------------------------------------------

    @api.post("/auth/login", tags=["auth"])
    async def login(body: LoginIn, response: Response) -> SessionOut:
        done = await parley.auth.login(body.username, body.password)
        response.set_cookie(
            security.SESSION_COOKIE,
            done.token,
            max_age=settings.session_days * 86_400,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
            path="/",
        )
        return SessionOut(user=StaffOut.of(done.staff), csrf_token=done.csrf_token)

    @api.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"])
    async def logout(request: Request, response: Response) -> None:
        cookie = request.cookies.get(security.SESSION_COOKIE)
        if cookie is not None:
            await security.staff_of_request(parley.auth, request)  # CSRF-checked
            await parley.auth.logout(cookie)
        response.delete_cookie(security.SESSION_COOKIE, path="/")

    @api.get("/auth/me", tags=["auth"])
    async def me(request: Request) -> SessionOut:
        found = await security.staff_of_request(parley.auth, request)
        csrf = found.csrf_token if found.kind == "session" else None
        return SessionOut(user=StaffOut.of(found.staff), csrf_token=csrf)

    @api.post("/auth/tokens", status_code=201, tags=["auth"])
    async def create_token(body: TokenIn, staff: AnyStaff) -> TokenOut:
        return TokenOut(token=await parley.auth.create_api_token(staff, body.label))

    # Admin ------------------------------------------------------------------------------------

    @api.get("/admin/users", tags=["admin"])
    async def list_users(admin: Admin) -> list[UserOut]:
        return [UserOut.of(u) for u in await parley.admin.list_users(admin)]

    @api.post("/admin/users", status_code=201, tags=["admin"])
    async def create_user(body: UserIn, admin: Admin) -> UserOut:
        user = await parley.admin.create_user(
            admin, body.username, body.password, body.role, body.display_name, body.workgroups
        )
        return UserOut.of(user)

    @api.patch("/admin/users/{username}", tags=["admin"])
    async def update_user(username: str, body: UserPatch, admin: Admin) -> UserOut:
        user = await parley.admin.update_user(
            admin,
            username,
            role=body.role,
            active=body.active,
            password=body.password,
            display_name=body.display_name,
        )
        return UserOut.of(user)

    @api.get("/admin/workgroups", tags=["admin"])
    async def list_workgroups(staff: AnyStaff) -> list[WorkgroupOut]:
        return [WorkgroupOut.of(wg, m) for wg, m in await parley.admin.list_workgroups(staff)]

    @api.post("/admin/workgroups", status_code=201, tags=["admin"])
    async def create_workgroup(body: WorkgroupCreate, admin: Admin) -> WorkgroupOut:
        wg = await parley.admin.create_workgroup(admin, body.slug, body.settings())
        return WorkgroupOut.of(wg, [])

    @api.put("/admin/workgroups/{slug}", tags=["admin"])
    async def update_workgroup(slug: str, body: WorkgroupIn, admin: Admin) -> WorkgroupOut:
        wg = await parley.admin.update_workgroup(admin, slug, body.settings())
        members = dict((w.slug, m) for w, m in await parley.admin.list_workgroups(admin))
        return WorkgroupOut.of(wg, members.get(slug, []))

    @api.put("/admin/workgroups/{slug}/members", tags=["admin"])
    async def set_members(slug: str, body: MembersIn, admin: Admin) -> list[str]:
        return await parley.admin.set_members(admin, slug, body.usernames)

    # Visitors ---------------------------------------------------------------------------------

    @api.get("/workgroups/{slug}/status", tags=["visitors"])
    async def workgroup_status(slug: str, response: Response) -> WorkgroupStatusOut:
        # Read by the launcher script on the company's own site: public, for any origin.
        response.headers["Access-Control-Allow-Origin"] = "*"
        s = await parley.chat.workgroup_status(slug)
        return WorkgroupStatusOut(
            slug=s.slug,
            name=s.name,
            button_text=s.button_text,
            open=s.open,
            form_fields=[FormFieldIO.of(f) for f in s.form_fields],
        )

    @api.post("/workgroups/{slug}/chats", status_code=201, tags=["visitors"])
    async def open_chat(slug: str, body: ChatIn) -> ChatOut:
        if len(body.question) > parley.chat.max_message_chars:
            raise InvalidInput(
                f"the question is limited to {parley.chat.max_message_chars} characters"
            )
        form = ChatForm(body.name, str(body.email or ""), body.question, body.page, body.extra)
        opened = await parley.chat.open_chat(slug, form)
        return ChatOut(
            conversation=opened.conversation,
            visitor_token=opened.visitor_token,
            position=opened.position,
        )

    # Staff ------------------------------------------------------------------------------------

    @api.put("/me/presence", tags=["agents"])
    async def set_presence(body: PresenceIn, staff: AnyStaff) -> PresenceOut:
        state = await parley.presence.set(staff, body.presence, body.status_text)
        return PresenceOut(presence=state.presence, status_text=state.status_text)

    @api.get("/me/offers", tags=["agents"])
    async def my_offers(staff: AnyStaff) -> list[OfferOut]:
        return await parley.routing.pending_offers(staff)

    @api.post("/offers/{offer_id}/accept", tags=["agents"])
    async def accept(offer_id: str, staff: AnyStaff) -> AcceptedOut:
        return AcceptedOut(conversation_id=await parley.routing.accept(staff, offer_id))

    @api.post("/offers/{offer_id}/decline", status_code=204, tags=["agents"])
    async def decline(offer_id: str, staff: AnyStaff) -> None:
        await parley.routing.decline(staff, offer_id)

    @api.get("/conversations", tags=["conversations"])
    async def history(
        staff: AnyStaff,
        q: Annotated[str | None, Query(max_length=200)] = None,
        everyone: Annotated[bool, Query(alias="all")] = False,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        before: datetime | None = None,
    ) -> list[ConversationOut]:
        return await parley.chat.history(
            staff, search=q, everyone=everyone, limit=limit, before=before
        )

    @api.get("/conversations/{conversation_id}", tags=["conversations"])
    async def transcript(conversation_id: str, who: AnyPrincipal) -> TranscriptOut:
        conv, entries = await parley.chat.conversation(who, conversation_id)
        return TranscriptOut(conversation=conv, entries=entries)

    @api.get("/conversations/{conversation_id}/entries", tags=["conversations"])
    async def entries(
        conversation_id: str,
        who: AnyPrincipal,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    ) -> list[EntryOut]:
        return await parley.chat.entries(who, conversation_id, after, limit)

    @api.post("/conversations/{conversation_id}/messages", tags=["conversations"])
    async def send(conversation_id: str, body: MessageIn, who: AnyPrincipal) -> EntryOut:
        return await parley.chat.send(who, conversation_id, body.client_id, body.text)

    @api.post("/conversations/{conversation_id}/end", status_code=204, tags=["conversations"])
    async def end(conversation_id: str, who: AnyPrincipal) -> None:
        await parley.chat.end(who, conversation_id)

    return api
