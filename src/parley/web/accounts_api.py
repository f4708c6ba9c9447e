"""REST routes of accounts: two-factor enrolment (``/me/2fa``), the account policy
(``/admin/account-policy``), an admin's two-factor reset, guests (``/im/rooms/{id}/guests``,
``/guests/accept``). See ``docs/protocol.md``, "Accounts". Each handler resolves the principal
and calls one ``AccountService`` method; permissions are checked there."""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases.

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from parley.domain.accounts import MAX_DOMAINS, AccountPolicy, TwoFactorPolicy
from parley.domain.names import NameFormat
from parley.protocol import CleanInput, OneLineEmail
from parley.web import limits
from parley.web.api import ERRORS, RATE_LIMITED, UserOut
from parley.web.node import Node
from parley.web.qr import qr_svg
from parley.web.security import Admin, AnyStaff, Enrolling


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


class EnrolmentOut(BaseModel):
    secret: str = Field(description="Base32, for typing into an app: shown this once.")
    otpauth_uri: str = Field(description="The otpauth:// URI (for a QR code): shown this once.")
    qr_svg: str = Field(
        description="A QR code of otpauth_uri, an SVG document (black on white, no script) to "
        "show as <img src='data:image/svg+xml;base64,...'>: shown this once."
    )


class CodeIn(_In):
    code: Annotated[str, Field(min_length=1, max_length=16)]


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(
        description="Each works once instead of a code: shown this once, kept hashed."
    )


class TwoFactorStatusOut(BaseModel):
    enabled: bool
    required: bool = Field(description="The account policy requires it for this account.")
    recovery_codes_left: int


class AccountPolicyIO(_In):
    require_2fa: TwoFactorPolicy = TwoFactorPolicy.NONE
    internal_only: bool = Field(
        False,
        description="No guests: none invited or signed in; switching it on removes those "
        "there are from their rooms and ends their sessions.",
    )
    staff_email_domains: list[Annotated[str, Field(min_length=1, max_length=253)]] = Field(
        default_factory=list,
        max_length=MAX_DOMAINS,
        description="Staff accounts' email must be at one of these (empty: any).",
    )
    name_format: NameFormat | None = Field(
        None,
        description="How every staff member's name is shown to others: as_entered, "
        "first_last ('Mary Smith'), first_l ('Mary S.'), f_last ('M. Smith'). Omitted or "
        "null: left as it is.",
    )

    def policy(self, current: AccountPolicy) -> AccountPolicy:
        return AccountPolicy(
            self.require_2fa,
            self.internal_only,
            tuple(self.staff_email_domains),
            current.name_format if self.name_format is None else self.name_format,
        )

    @classmethod
    def of(cls, p: AccountPolicy) -> "AccountPolicyIO":
        return cls(
            require_2fa=p.require_2fa,
            internal_only=p.internal_only,
            staff_email_domains=list(p.staff_email_domains),
            name_format=p.name_format,
        )


class GuestIn(_In):
    email: OneLineEmail


class GuestInvitationOut(BaseModel):
    id: str
    conversation_id: str
    email: str
    expires_at: datetime
    token: str = Field(description="The invitation: shown this once (and emailed if mail is on).")
    emailed: bool


class GuestAcceptIn(_In):
    token: Annotated[str, Field(min_length=1, max_length=128)]
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=8, max_length=1024)]
    display_name: Annotated[str, Field(max_length=128)] = ""


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1", responses=ERRORS)

    @api.get("/me/2fa", tags=["auth"])
    async def two_factor(parley: Node, me: Enrolling) -> TwoFactorStatusOut:
        s = await parley.accounts.two_factor(me.staff)
        return TwoFactorStatusOut(
            enabled=s.enabled, required=s.required, recovery_codes_left=s.recovery_codes_left
        )

    @api.post("/me/2fa", tags=["auth"], status_code=201)
    async def enrol(parley: Node, me: Enrolling) -> EnrolmentOut:
        """Start enrolling: a new secret (confirm it with a first code)."""
        e = await parley.accounts.enrol(me.staff)
        return EnrolmentOut(
            secret=e.secret,
            otpauth_uri=e.uri,
            qr_svg=qr_svg(e.uri, "Scan with your authenticator app"),
        )

    @api.post("/me/2fa/confirm", tags=["auth"])
    async def confirm(parley: Node, body: CodeIn, me: Enrolling) -> RecoveryCodesOut:
        """Turn two-factor sign-in on with the code the app shows now. A session that could
        only enrol becomes an ordinary one."""
        codes = await parley.accounts.confirm(me.staff, body.code, me.token_hash)
        return RecoveryCodesOut(recovery_codes=codes)

    @api.delete("/admin/users/{username}/2fa", tags=["admin"], status_code=204)
    async def reset_two_factor(parley: Node, username: str, admin: Admin) -> None:
        """Turn someone's two-factor sign-in off (a lost phone); their sessions end."""
        await parley.accounts.reset_two_factor(admin, username)

    @api.get("/admin/account-policy", tags=["admin"])
    async def get_policy(parley: Node, admin: Admin) -> AccountPolicyIO:
        return AccountPolicyIO.of(await parley.accounts.policy(admin))

    @api.put("/admin/account-policy", tags=["admin"])
    async def set_policy(parley: Node, body: AccountPolicyIO, admin: Admin) -> AccountPolicyIO:
        return AccountPolicyIO.of(await parley.accounts.set_policy(admin, body.policy))

    @api.post("/im/rooms/{conversation_id}/guests", tags=["im"], status_code=201)
    async def invite_guest(
        parley: Node, conversation_id: str, body: GuestIn, staff: AnyStaff
    ) -> GuestInvitationOut:
        """A room's owner invites someone outside the company (refused: ``internal_only``)."""
        i = await parley.accounts.invite_guest(staff, conversation_id, str(body.email))
        return GuestInvitationOut(
            id=i.id,
            conversation_id=i.conversation_id,
            email=i.email,
            expires_at=i.expires_at,
            token=i.token,
            emailed=i.emailed,
        )

    @api.post("/guests/accept", tags=["im"], status_code=201, responses=RATE_LIMITED)
    async def accept_guest(parley: Node, body: GuestAcceptIn, request: Request) -> UserOut:
        """Make the guest account an invitation is for; then sign in as usual. Limited per
        client address like logins."""
        await parley.limiter.hit(
            parley.rules.login_ip,
            limits.client_ip(request.scope),
            message="too many attempts from your address; try again later",
        )
        user = await parley.accounts.accept_guest(
            body.token, body.username, body.password, body.display_name
        )
        return UserOut.of(user)

    return api
