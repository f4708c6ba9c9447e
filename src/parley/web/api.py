"""REST routes under ``/api/v1``. Each handler resolves the principal (``security``), calls
one service method, and returns a schema; errors are mapped in ``errors``."""

# No `from __future__ import annotations` here: FastAPI must see the dependency aliases that
# `router()` builds locally, which string annotations would hide.

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from parley.domain.access import Staff, StaffRole
from parley.domain.branding import Branding
from parley.domain.branding import Position as BrandPosition
from parley.domain.errors import InvalidInput
from parley.domain.forms import FormField
from parley.domain.hours import WEEKDAYS, holidays_plain, parse_hours, weekly_plain
from parley.domain.identity import Mode as IdentityMode
from parley.domain.messages import MessageForm
from parley.domain.messages import Status as MessageStatus
from parley.domain.presence import Presence
from parley.protocol import (
    CleanInput,
    ConversationOut,
    EntryOut,
    LeftMessageOut,
    MultiLine,
    OfferOut,
    OneLine,
    OneLineEmail,
    Outcome,
)
from parley.services.admin import WorkgroupSettings
from parley.services.auth import ENROL, ApiToken, Login, TwoFactorPending
from parley.services.branding import logo_url
from parley.services.chat import ChatForm
from parley.services.inbox import HoursSettings
from parley.storage.staff import UserRow
from parley.storage.workgroups import WorkgroupRow
from parley.web import limits, security
from parley.web.errors import ErrorResponse
from parley.web.node import Node
from parley.web.security import Admin, AnyPrincipal, AnyStaff

MAX_EXTRA_FIELDS = 20


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


# Schemas --------------------------------------------------------------------------------------


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str = Field(
        description="The name as entered (what create and update take); others are shown "
        "shown_name."
    )
    shown_name: str = Field(
        description="The name as everyone else sees it, in the account policy's name_format."
    )
    role: StaffRole
    active: bool
    email: str | None = None
    two_factor: bool = Field(False, description="Signs in with a TOTP code.")

    @classmethod
    def of(cls, user: UserRow) -> "UserOut":
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.entered_name,
            shown_name=user.display_name,
            role=user.role,
            active=user.active,
            email=user.email,
            two_factor=user.two_factor,
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


class SecondStepIn(_In):
    pending_token: Annotated[str, Field(min_length=1, max_length=512)]
    code: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    recovery_code: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class LoginIn(_In):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class SessionOut(BaseModel):
    user: StaffOut
    csrf_token: str | None = Field(
        description="Echo in X-CSRF-Token on cookie-authenticated writes."
    )
    must_enrol_2fa: bool = Field(
        False,
        description="The account policy requires two-factor sign-in and this account has not "
        "enrolled: this session may only enrol (POST /api/v1/me/2fa, then /confirm).",
    )


class TwoFactorOut(BaseModel):
    """Step one of a sign-in with two factors: send ``pending_token`` with a code to
    ``POST /api/v1/auth/login/2fa``."""

    two_factor_required: Literal[True] = True
    pending_token: str
    expires_at: datetime


class TokenIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=128)] = Field(
        description="What the token is for, e.g. the script using it."
    )
    expires_in_days: Annotated[int, Field(ge=1)] | None = Field(
        None,
        description="Lifetime in days (default 90, at most the server's api_token_max_days).",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a name is required")
        return value.strip()


class ApiTokenOut(BaseModel):
    """An API token as its owner and admins see it: never the token itself or its hash."""

    id: str = Field(description="The token's public id, to revoke it by.")
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(
        description="When it last authenticated a request or a socket (updated once a minute)."
    )

    @classmethod
    def of(cls, t: ApiToken) -> "ApiTokenOut":
        return cls(
            id=t.id,
            name=t.name,
            created_at=t.created_at,
            expires_at=t.expires_at,
            last_used_at=t.last_used_at,
        )


class TokenOut(ApiTokenOut):
    token: str = Field(description="The token: shown this once, never again.")


class UserIn(_In):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=8, max_length=1024)]
    role: StaffRole = StaffRole.AGENT
    display_name: Annotated[str, Field(max_length=128)] = ""
    workgroups: list[str] = Field(default_factory=list, max_length=100)
    email: OneLineEmail | None = Field(
        None, description="Required, at one of them, when the policy names staff_email_domains."
    )


class UserPatch(_In):
    role: StaffRole | None = None
    active: bool | None = None
    password: Annotated[str | None, Field(min_length=8, max_length=1024)] = None
    display_name: Annotated[str | None, Field(min_length=1, max_length=128)] = None
    email: OneLineEmail | None = None


class FormFieldIO(_In):
    """An extra field of the pre-chat form; ``name`` is the key in the chat's ``extra``."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    label: Annotated[str, Field(min_length=1, max_length=128)]
    required: bool = False

    @classmethod
    def of(cls, f: FormField) -> "FormFieldIO":
        return cls(name=f.name, label=f.label, required=f.required)


TransferKind = Literal["agent", "queue", "workgroup"]


class WorkgroupIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    button_text: Annotated[str, Field(max_length=128)] = ""
    offer_timeout_secs: Annotated[int, Field(ge=5, le=600)] = 30
    wait_timeout_secs: Annotated[int, Field(ge=10, le=86_400)] = 300
    max_chats: Annotated[int, Field(ge=1, le=100)] = 3
    form_fields: list[FormFieldIO] = Field(default_factory=list, max_length=10)
    decline_cooldown_secs: Annotated[int, Field(ge=0, le=3600)] = Field(
        20, description="A declined or missed request is not offered to that agent again sooner."
    )
    preferred_agent_secs: Annotated[int, Field(ge=0, le=120)] = Field(
        10, description="How long a returning customer's last agent has the chat to themselves."
    )
    max_missed_offers: Annotated[int, Field(ge=0, le=100)] = Field(
        3, description="Offers let time out in a row before the agent is set away; 0: never."
    )
    transfer_targets: list[TransferKind] = Field(
        default_factory=lambda: list(get_args(TransferKind)),
        max_length=3,
        description="Where agents may transfer this workgroup's chats.",
    )
    max_transfers: Annotated[int, Field(ge=0, le=20)] = Field(
        3, description="Transfers per chat at most."
    )
    invitations: bool = Field(True, description="Agents may invite others into a chat.")
    identity: IdentityMode = Field(
        IdentityMode.OPTIONAL,
        description="optional: anonymous chats are accepted (linked to history only by the "
        "same browser); required: a chat needs a valid signed identity token.",
    )
    customer_idle_secs: Annotated[int, Field(ge=0, le=86_400)] = Field(
        300,
        description="Once the customer left (every socket of theirs closed beyond the grace "
        "time), how long the chat waits for them before it ends by itself; 0: never.",
    )

    def settings(self) -> WorkgroupSettings:
        return WorkgroupSettings(
            self.name,
            self.button_text,
            self.offer_timeout_secs,
            self.wait_timeout_secs,
            self.max_chats,
            tuple(FormField(f.name, f.label, f.required) for f in self.form_fields),
            self.decline_cooldown_secs,
            self.preferred_agent_secs,
            self.max_missed_offers,
            frozenset(self.transfer_targets),
            self.max_transfers,
            self.invitations,
            self.identity,
            self.customer_idle_secs,
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
    decline_cooldown_secs: int
    preferred_agent_secs: int
    max_missed_offers: int
    transfer_targets: list[str]
    max_transfers: int
    invitations: bool
    identity: IdentityMode
    customer_idle_secs: int

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
            decline_cooldown_secs=wg.decline_cooldown_secs,
            preferred_agent_secs=wg.preferred_agent_secs,
            max_missed_offers=wg.max_missed_offers,
            transfer_targets=sorted(wg.transfer_targets),
            max_transfers=wg.max_transfers,
            invitations=wg.invitations,
            identity=wg.identity,
            customer_idle_secs=wg.customer_idle_secs,
        )


class MembersIn(_In):
    usernames: list[Annotated[str, Field(max_length=64)]] = Field(max_length=10_000)


class WidgetBrandingOut(BaseModel):
    """How the widget looks for this workgroup (``domain.branding``)."""

    color: str | None = Field(
        None,
        description="The brand colour, #rrggbb (white text on it reaches 4.5:1); null: "
        "Parley's own blue.",
    )
    logo_url: str | None = Field(None, description="The logo (PNG), null without one.")
    greeting: str = Field(
        "",
        description="The first line of the pre-chat form (plain text: escape it); empty: "
        "the widget's own, in the visitor's language.",
    )
    position: BrandPosition = Field(
        BrandPosition.RIGHT, description="The corner the launcher sits in: right or left."
    )

    @classmethod
    def of(cls, slug: str, b: Branding) -> "WidgetBrandingOut":
        return cls(
            color=b.color, logo_url=logo_url(slug, b), greeting=b.greeting, position=b.position
        )


class WorkgroupStatusOut(BaseModel):
    slug: str
    name: str
    button_text: str
    open: bool = Field(description="Somebody is available to answer.")
    form_fields: list[FormFieldIO] = Field(
        description="Extra fields of the pre-chat form; answers go in the chat's `extra`."
    )
    accepting: bool = Field(
        True, description="A chat can start now; else the widget offers to leave a message."
    )
    reason: Literal["closed", "no_agents"] | None = Field(
        None, description="Why not: outside business hours (or closed by hand), or nobody there."
    )
    next_open: datetime | None = Field(None, description="When closed: when it opens, if known.")
    identity: IdentityMode = Field(
        IdentityMode.OPTIONAL, description="required: a chat needs a signed identity token."
    )
    archive_notice: str = Field(
        "",
        description="The archiving policy's notice, one line, shown before the first message"
        " (empty: none set). Plain text: escape it.",
    )
    branding: WidgetBrandingOut = Field(
        default_factory=WidgetBrandingOut, description="How the widget looks."
    )


# Leave a message ------------------------------------------------------------------------------

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
assert get_args(Weekday) == WEEKDAYS


class LeftMessageIn(_In):
    """The leave-a-message form. Name, email and page are one line each (no control
    characters, also not RFC 2047 encoded ones): they reach the mail's headers and fields."""

    name: Annotated[OneLine, Field(min_length=1, max_length=128)]
    email: OneLineEmail
    message: Annotated[MultiLine, Field(min_length=1, max_length=4000)]
    page: Annotated[OneLine, Field(max_length=2048)] = ""


class LeftMessageReceipt(BaseModel):
    id: str = Field(description="The message's public id: 32 random hex digits.")
    created_at: datetime


class HoursIO(_In):
    """Business hours: intervals per weekday in the workgroup's time zone (a day left out is
    closed; `weekly` null is open around the clock), holidays as dates in that zone."""

    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"
    weekly: dict[Weekday, list[Annotated[str, Field(max_length=16)]]] | None = Field(
        None, examples=[{"mon": ["09:00-12:00", "13:00-17:30"]}]
    )
    holidays: list[Annotated[str, Field(max_length=10)]] = Field(
        default_factory=list, max_length=400, examples=[["2026-12-25"]]
    )
    closed_by_hand: bool = False

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if value is not None and any(len(v) > 8 for v in value.values()):
            raise ValueError("at most 8 intervals a day")
        return value


class WorkgroupHoursIO(_In):
    hours: HoursIO | None = Field(None, description="null: always open.")
    email: EmailStr | Literal[""] = Field(
        "", description="Where left messages are emailed (empty: the console's inbox only)."
    )
    queue_without_agents: bool = Field(
        False, description="Let visitors queue when no agent is available (else: leave a message)."
    )

    def settings(self) -> HoursSettings:
        hours = None
        if self.hours is not None:
            h = self.hours
            weekly = None if h.weekly is None else {str(d): v for d, v in h.weekly.items()}
            hours = parse_hours(h.timezone, weekly, h.holidays, h.closed_by_hand)
        return HoursSettings(hours, str(self.email), self.queue_without_agents)

    @classmethod
    def of(cls, s: HoursSettings) -> "WorkgroupHoursIO":
        hours = None
        if s.hours is not None:
            hours = HoursIO(
                timezone=s.hours.timezone,
                weekly=weekly_plain(s.hours),
                holidays=holidays_plain(s.hours),
                closed_by_hand=s.hours.closed_by_hand,
            )
        return cls(hours=hours, email=s.email, queue_without_agents=s.queue_without_agents)


LooseKey = Annotated[str, Field(max_length=1024)]
LooseValue = Annotated[str, Field(max_length=10_000)]


class ChatIn(_In):
    """The pre-chat form. Name, email, page and the extra answers are one line each."""

    name: Annotated[OneLine, Field(min_length=1, max_length=128)]
    email: OneLineEmail | None = None
    question: Annotated[MultiLine, Field(max_length=4000)] = ""
    page: Annotated[OneLine, Field(max_length=2048)] = ""
    extra: dict[
        Annotated[str, Field(max_length=64)], Annotated[OneLine, Field(max_length=1024)]
    ] = Field(default_factory=dict)
    identity: Annotated[str | None, Field(max_length=16_384)] = Field(
        None,
        description="The customer's identity token, a JWT the company's backend signed "
        "(HS256, `kid` header): verified, else `invalid_identity`. See docs/security.md.",
    )
    visitor_id: Annotated[str | None, Field(max_length=1024)] = Field(
        None,
        description="The `visitor_id` of this browser's last chat. One this server did not "
        "sign is ignored (a new one is issued).",
    )
    # Loosely bounded here, so that a field over a limit gets the domain's answer naming it.
    fields: dict[LooseKey, LooseValue] = Field(
        default_factory=dict,
        max_length=1000,
        description="Hidden fields the company's page passed (`data-field-*`, "
        "`Parley.setFields`): at most 20, keys `^[a-z][a-z0-9_]{0,31}$`, values of at most "
        "256 characters on one line; else 422 `invalid_hidden_field` with `details.field`. "
        "Not verified: whatever must be trusted goes in `identity`.",
    )
    referrer: Annotated[OneLine, Field(max_length=2048)] = Field(
        "", description="The page that brought the visitor to `page` (its address, no query)."
    )
    shopper_link: Annotated[str | None, Field(max_length=512)] = Field(
        None,
        description="A secret shopper's link token (`POST /qa/shopper-links`): the chat is a "
        "shopper's (one chat per link); forged `shopper_link_invalid`, used "
        "`shopper_link_used`, expired `shopper_link_expired` (401). Nothing the agent is shown "
        "differs.",
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
    visitor_id: str = Field(
        description="This browser's anonymous visitor id, signed: send it with the next chat "
        "(it links the same browser's chats for the agents)."
    )


class PresenceIn(_In):
    presence: Presence
    status_text: Annotated[str, Field(max_length=140)] = ""
    confirm: bool = Field(
        default=False,
        description="Set the status text although a house rule warned (blocked_word_warning).",
    )


class PresenceOut(BaseModel):
    presence: Presence
    status_text: str


class MessageIn(_In):
    client_id: Annotated[str, Field(min_length=1, max_length=64)]
    text: str
    confirm: bool = Field(
        default=False,
        description="Send it as written although a house rule warned (blocked_word_warning).",
    )


class TranscriptOut(BaseModel):
    conversation: ConversationOut
    entries: list[EntryOut]


class EndIn(_In):
    outcome: Outcome | None = Field(
        default=None, description="Staff only: resolved, escalated or follow_up."
    )


class AcceptedOut(BaseModel):
    conversation_id: str


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 413, 422)
}
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorResponse,
        "description": "Over a limit: `rate_limited`, with `details.retry_after` and a "
        "`Retry-After` header (seconds).",
    }
}


class UnlockOut(BaseModel):
    was_locked: bool = Field(description="The account was locked (it is not any more).")


def router() -> APIRouter:
    """The routes, for every node: a handler reaches its own through ``parley: Node``."""
    api = APIRouter(prefix="/api/v1", responses=ERRORS)

    # Auth -------------------------------------------------------------------------------------

    @api.post("/auth/login", tags=["auth"], responses=RATE_LIMITED)
    async def login(
        parley: Node, body: LoginIn, request: Request, response: Response
    ) -> SessionOut | TwoFactorOut:
        """Limited per client address and per account (docs/security.md, "Limits"): 429 with
        Retry-After, the same whether or not the account exists or the password is right.
        An account with two-factor sign-in gets ``TwoFactorOut`` (no session yet)."""
        done = await parley.login.login(
            body.username, body.password, limits.client_ip(request.scope)
        )
        if isinstance(done, TwoFactorPending):
            return TwoFactorOut(pending_token=done.token, expires_at=done.expires_at)
        return start_session(parley, done, request, response)

    def start_session(
        parley: Node, done: Login, request: Request, response: Response
    ) -> SessionOut:
        response.set_cookie(
            security.SESSION_COOKIE,
            done.token,
            max_age=parley.settings.session_days * 86_400,
            httponly=True,
            samesite="lax",
            secure=security.secure_cookie(parley.settings, request),
            path="/",
        )
        return SessionOut(
            user=StaffOut.of(done.staff), csrf_token=done.csrf_token, must_enrol_2fa=done.must_enrol
        )

    @api.post("/auth/login/2fa", tags=["auth"], responses=RATE_LIMITED)
    async def login_second_step(
        parley: Node, body: SecondStepIn, request: Request, response: Response
    ) -> SessionOut:
        """Step two: ``code`` (the authenticator's 6 digits; each works once) or
        ``recovery_code``. Limited per account (``two_factor_limit``) and address."""
        if (body.code is None) == (body.recovery_code is None):
            raise InvalidInput("send a code or a recovery_code")
        done, _ = await parley.login.second_step(
            body.pending_token, body.code, body.recovery_code, limits.client_ip(request.scope)
        )
        return start_session(parley, done, request, response)

    @api.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"])
    async def logout(parley: Node, request: Request, response: Response) -> None:
        bearer = security.bearer(request.headers.get("authorization"))
        cookie = request.cookies.get(security.SESSION_COOKIE)
        if bearer is not None:
            await parley.auth.logout(bearer)  # revokes that token, whatever its kind
        elif cookie is not None:
            await security.staff_of_request(parley.auth, request, enrolling=True)  # CSRF
            await parley.auth.logout(cookie)
        response.delete_cookie(
            security.SESSION_COOKIE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=security.secure_cookie(parley.settings, request),
        )

    @api.get("/auth/me", tags=["auth"])
    async def me(parley: Node, request: Request) -> SessionOut:
        found = await security.staff_of_request(parley.auth, request, enrolling=True)
        csrf = found.csrf_token if found.kind in ("session", ENROL) else None
        return SessionOut(
            user=StaffOut.of(found.staff), csrf_token=csrf, must_enrol_2fa=found.kind == ENROL
        )

    @api.post("/auth/tokens", status_code=201, tags=["auth"])
    async def create_token(parley: Node, body: TokenIn, staff: AnyStaff) -> TokenOut:
        new = await parley.auth.create_api_token(staff, body.name, body.expires_in_days)
        return TokenOut(token=new.token, **ApiTokenOut.of(new.info).model_dump())

    @api.get("/auth/tokens", tags=["auth"])
    async def my_tokens(parley: Node, staff: AnyStaff) -> list[ApiTokenOut]:
        return [ApiTokenOut.of(t) for t in await parley.auth.api_tokens(staff)]

    TokenId = Annotated[str, Path(min_length=1, max_length=32)]

    @api.delete("/auth/tokens/{token_id}", status_code=204, tags=["auth"])
    async def revoke_token(parley: Node, token_id: TokenId, staff: AnyStaff) -> None:
        """Yours; admins may revoke anyone's. Sockets opened with it close (1008)."""
        await parley.auth.revoke_api_token(staff, token_id)

    @api.get("/admin/users/{username}/tokens", tags=["admin"])
    async def user_tokens(parley: Node, username: str, admin: Admin) -> list[ApiTokenOut]:
        return [ApiTokenOut.of(t) for t in await parley.auth.api_tokens(admin, username)]

    @api.delete("/admin/users/{username}/tokens/{token_id}", status_code=204, tags=["admin"])
    async def revoke_user_token(
        parley: Node, username: str, token_id: TokenId, admin: Admin
    ) -> None:
        await parley.auth.revoke_api_token(admin, token_id, username=username)

    # Admin ------------------------------------------------------------------------------------

    @api.get("/admin/users", tags=["admin"])
    async def list_users(parley: Node, admin: Admin) -> list[UserOut]:
        return [UserOut.of(u) for u in await parley.admin.list_users(admin)]

    @api.post("/admin/users", status_code=201, tags=["admin"])
    async def create_user(parley: Node, body: UserIn, admin: Admin) -> UserOut:
        user = await parley.admin.create_user(
            admin,
            body.username,
            body.password,
            body.role,
            body.display_name,
            body.workgroups,
            email=None if body.email is None else str(body.email),
        )
        return UserOut.of(user)

    @api.patch("/admin/users/{username}", tags=["admin"])
    async def update_user(parley: Node, username: str, body: UserPatch, admin: Admin) -> UserOut:
        user = await parley.admin.update_user(
            admin,
            username,
            role=body.role,
            active=body.active,
            password=body.password,
            display_name=body.display_name,
            email=None if body.email is None else str(body.email),
        )
        return UserOut.of(user)

    @api.post("/admin/users/{username}/unlock", tags=["admin"])
    async def unlock_user(parley: Node, username: str, admin: Admin) -> UnlockOut:
        """Lift a login lockout (after too many failed logins) and forget the failures."""
        return UnlockOut(was_locked=await parley.login.unlock(admin, username))

    @api.get("/admin/workgroups", tags=["admin"])
    async def list_workgroups(parley: Node, staff: AnyStaff) -> list[WorkgroupOut]:
        return [WorkgroupOut.of(wg, m) for wg, m in await parley.admin.list_workgroups(staff)]

    @api.post("/admin/workgroups", status_code=201, tags=["admin"])
    async def create_workgroup(parley: Node, body: WorkgroupCreate, admin: Admin) -> WorkgroupOut:
        wg = await parley.admin.create_workgroup(admin, body.slug, body.settings())
        return WorkgroupOut.of(wg, [])

    @api.put("/admin/workgroups/{slug}", tags=["admin"])
    async def update_workgroup(
        parley: Node, slug: str, body: WorkgroupIn, admin: Admin
    ) -> WorkgroupOut:
        wg = await parley.admin.update_workgroup(admin, slug, body.settings())
        members = dict((w.slug, m) for w, m in await parley.admin.list_workgroups(admin))
        return WorkgroupOut.of(wg, members.get(slug, []))

    @api.put("/admin/workgroups/{slug}/members", tags=["admin"])
    async def set_members(parley: Node, slug: str, body: MembersIn, admin: Admin) -> list[str]:
        return await parley.admin.set_members(admin, slug, body.usernames)

    # Visitors ---------------------------------------------------------------------------------

    @api.get("/workgroups/{slug}/status", tags=["visitors"])
    async def workgroup_status(parley: Node, slug: str, response: Response) -> WorkgroupStatusOut:
        # Read by the launcher script on the company's own site: public, for any origin.
        response.headers["Access-Control-Allow-Origin"] = "*"
        s = await parley.chat.workgroup_status(slug)
        return WorkgroupStatusOut(
            slug=s.slug,
            name=s.name,
            button_text=s.button_text,
            open=s.open,
            form_fields=[FormFieldIO.of(f) for f in s.form_fields],
            accepting=s.availability.accepting,
            reason=None if s.availability.reason is None else s.availability.reason.value,
            next_open=s.availability.next_open,
            identity=s.identity,
            archive_notice=await parley.archive.notice(),
            branding=WidgetBrandingOut.of(s.slug, s.branding),
        )

    # The route limits are checked once the request is valid: a refused bad request costs
    # nobody any quota.

    @api.post(
        "/workgroups/{slug}/chats",
        status_code=201,
        tags=["visitors"],
        responses=RATE_LIMITED,
    )
    async def open_chat(parley: Node, slug: str, body: ChatIn, request: Request) -> ChatOut:
        if len(body.question) > parley.chat.max_message_chars:
            raise InvalidInput(
                f"the question is limited to {parley.chat.max_message_chars} characters"
            )
        rules = parley.rules
        await limits.check_visitor_limits(
            parley.limiter, rules.chat_ip, rules.chat_workgroup, "chats", request, slug
        )
        form = ChatForm(
            body.name,
            str(body.email or ""),
            body.question,
            body.page,
            body.extra,
            body.fields,
            body.referrer,
        )
        opened = await parley.chat.open_chat(
            slug,
            form,
            identity_token=body.identity,
            visitor_id=body.visitor_id,
            on_open=None
            if body.shopper_link is None
            else parley.qa.shopper_opener(body.shopper_link),
        )
        return ChatOut(
            conversation=opened.conversation,
            visitor_token=opened.visitor_token,
            position=opened.position,
            visitor_id=opened.visitor_id,
        )

    @api.post(
        "/workgroups/{slug}/messages",
        status_code=201,
        tags=["visitors"],
        responses=RATE_LIMITED,
    )
    async def leave_message(
        parley: Node,
        slug: str,
        body: LeftMessageIn,
        request: Request,
        x_visitor_token: Annotated[
            str | None,
            Header(max_length=1024, description="The token of the chat this message follows."),
        ] = None,
    ) -> LeftMessageReceipt:
        visitor = (
            None
            if x_visitor_token is None
            else await parley.auth.follow_up_visitor(x_visitor_token)
        )
        rules = parley.rules
        await limits.check_visitor_limits(
            parley.limiter, rules.message_ip, rules.message_workgroup, "messages", request, slug
        )
        form = MessageForm(body.name, str(body.email), body.message, body.page)
        left = await parley.inbox.leave_message(slug, form, visitor)
        return LeftMessageReceipt(id=left.id, created_at=left.created_at)

    # Left messages: the inbox -------------------------------------------------------------------

    @api.get("/messages", tags=["inbox"])
    async def my_messages(
        parley: Node, staff: AnyStaff, status: MessageStatus | None = None
    ) -> list[LeftMessageOut]:
        """Of every workgroup you work in (all of them for supervisors and admins)."""
        return await parley.inbox.list_messages(staff, None, status)

    @api.get("/workgroups/{slug}/messages", tags=["inbox"])
    async def workgroup_messages(
        parley: Node, slug: str, staff: AnyStaff, status: MessageStatus | None = None
    ) -> list[LeftMessageOut]:
        return await parley.inbox.list_messages(staff, slug, status)

    MessageId = Annotated[
        str, Path(max_length=64, description="The message's public id (`id` in its listing).")
    ]

    @api.post("/messages/{message_id}/take", tags=["inbox"])
    async def take_message(parley: Node, message_id: MessageId, staff: AnyStaff) -> LeftMessageOut:
        return await parley.inbox.take(staff, message_id)

    @api.post("/messages/{message_id}/done", tags=["inbox"])
    async def message_done(parley: Node, message_id: MessageId, staff: AnyStaff) -> LeftMessageOut:
        return await parley.inbox.done(staff, message_id)

    @api.get("/workgroups/{slug}/hours", tags=["admin"])
    async def get_hours(parley: Node, slug: str, admin: Admin) -> WorkgroupHoursIO:
        return WorkgroupHoursIO.of(await parley.inbox.hours(admin, slug))

    @api.put("/workgroups/{slug}/hours", tags=["admin"])
    async def set_hours(
        parley: Node, slug: str, body: WorkgroupHoursIO, admin: Admin
    ) -> WorkgroupHoursIO:
        return WorkgroupHoursIO.of(await parley.inbox.set_hours(admin, slug, body.settings()))

    # Staff ------------------------------------------------------------------------------------

    @api.put("/me/presence", tags=["agents"])
    async def set_presence(parley: Node, body: PresenceIn, staff: AnyStaff) -> PresenceOut:
        state = await parley.presence.set(
            staff, body.presence, body.status_text, confirm=body.confirm
        )
        return PresenceOut(presence=state.presence, status_text=state.status_text)

    @api.get("/me/offers", tags=["agents"])
    async def my_offers(parley: Node, staff: AnyStaff) -> list[OfferOut]:
        return await parley.routing.pending_offers(staff)

    @api.post("/offers/{offer_id}/accept", tags=["agents"])
    async def accept(parley: Node, offer_id: str, staff: AnyStaff) -> AcceptedOut:
        return AcceptedOut(conversation_id=await parley.routing.accept(staff, offer_id))

    @api.post("/offers/{offer_id}/decline", status_code=204, tags=["agents"])
    async def decline(parley: Node, offer_id: str, staff: AnyStaff) -> None:
        await parley.routing.decline(staff, offer_id)

    @api.get("/conversations", tags=["conversations"])
    async def history(
        parley: Node,
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
    async def transcript(parley: Node, conversation_id: str, who: AnyPrincipal) -> TranscriptOut:
        conv, entries = await parley.chat.conversation(who, conversation_id)
        return TranscriptOut(conversation=conv, entries=entries)

    @api.get("/conversations/{conversation_id}/entries", tags=["conversations"])
    async def entries(
        parley: Node,
        conversation_id: str,
        who: AnyPrincipal,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    ) -> list[EntryOut]:
        return await parley.chat.entries(who, conversation_id, after, limit)

    @api.post(
        "/conversations/{conversation_id}/messages",
        tags=["conversations"],
        responses=RATE_LIMITED,
    )
    async def send(
        parley: Node, conversation_id: str, body: MessageIn, who: AnyPrincipal, request: Request
    ) -> EntryOut:
        await limits.check_send_limit(parley.limiter, parley.rules.send, request, conversation_id)
        return await parley.chat.send(
            who, conversation_id, body.client_id, body.text, confirm=body.confirm
        )

    @api.post("/conversations/{conversation_id}/end", status_code=204, tags=["conversations"])
    async def end(
        parley: Node, conversation_id: str, who: AnyPrincipal, body: EndIn | None = None
    ) -> None:
        await parley.chat.end(who, conversation_id, None if body is None else body.outcome)

    return api
