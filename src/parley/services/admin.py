"""Staff accounts and workgroups."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from parley.clock import Clock
from parley.domain import accounts as account_policy
from parley.domain import presence as presence_policy
from parley.domain import routing
from parley.domain.access import Principal, Staff, StaffRole, require_role
from parley.domain.errors import Conflict, InvalidInput, NotFound
from parley.domain.forms import FormField, validate_fields
from parley.domain.identity import Mode as IdentityMode
from parley.domain.names import shown_name
from parley.realtime.bus import Bus
from parley.realtime.notifications import Kick, Notification, Revoke
from parley.services.auth import hash_password
from parley.storage.accounts import AccountStore
from parley.storage.agents import AgentStore
from parley.storage.audit import AuditStore
from parley.storage.db import Database
from parley.storage.staff import StaffStore, UserRow
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupRow, WorkgroupStore, fields_json

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MIN_PASSWORD_CHARS = 8
TRANSFER_TARGETS = frozenset({"agent", "queue", "workgroup"})


def check_name(kind: str, value: str) -> str:
    if not _NAME.fullmatch(value):
        raise InvalidInput(
            f"{kind} must be 1-64 lowercase letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return value


@dataclass(frozen=True, slots=True)
class WorkgroupSettings:
    name: str
    button_text: str = ""
    offer_timeout_secs: int = int(routing.DEFAULT_OFFER_TIMEOUT.total_seconds())
    wait_timeout_secs: int = int(routing.DEFAULT_WAIT_TIMEOUT.total_seconds())
    max_chats: int = routing.DEFAULT_MAX_CHATS
    form_fields: tuple[FormField, ...] = ()
    decline_cooldown_secs: int = int(routing.DEFAULT_DECLINE_COOLDOWN.total_seconds())
    preferred_agent_secs: int = int(routing.DEFAULT_PREFERRED_TIMEOUT.total_seconds())
    max_missed_offers: int = routing.DEFAULT_MAX_MISSED
    transfer_targets: frozenset[str] = TRANSFER_TARGETS
    max_transfers: int = 3
    invitations: bool = True
    #: Verified customer identity: optional (anonymous chats accepted) or required.
    identity: IdentityMode = IdentityMode.OPTIONAL
    #: How long a chat whose customer left waits for them before it ends by itself; 0: never.
    customer_idle_secs: int = 300

    def routing_values(self) -> dict[str, object]:
        """The columns beyond the basic ones (routing, transfers, invitations, identity)."""
        return {
            "decline_cooldown_secs": self.decline_cooldown_secs,
            "preferred_agent_secs": self.preferred_agent_secs,
            "max_missed_offers": self.max_missed_offers,
            "transfer_targets": sorted(self.transfer_targets),
            "max_transfers": self.max_transfers,
            "invitations": self.invitations,
            "identity": IdentityMode(self.identity).value,
            "customer_idle_secs": self.customer_idle_secs,
        }

    def validate(self) -> WorkgroupSettings:
        validate_fields(self.form_fields)
        if not self.name.strip() or len(self.name) > 128:
            raise InvalidInput("a workgroup needs a name of at most 128 characters")
        if len(self.button_text) > 128:
            raise InvalidInput("button text is limited to 128 characters")
        if not 5 <= self.offer_timeout_secs <= 600:
            raise InvalidInput("the offer timeout must be 5 to 600 seconds")
        if not 10 <= self.wait_timeout_secs <= 86_400:
            raise InvalidInput("the wait timeout must be 10 to 86400 seconds")
        if not 1 <= self.max_chats <= 100:
            raise InvalidInput("max chats per agent must be 1 to 100")
        if not 0 <= self.decline_cooldown_secs <= 3600:
            raise InvalidInput("the decline cooldown must be 0 to 3600 seconds")
        if not 0 <= self.preferred_agent_secs <= 120:
            raise InvalidInput("the preferred agent's head start must be 0 to 120 seconds")
        if not 0 <= self.max_missed_offers <= 100:
            raise InvalidInput("missed offers before away must be 0 (never) to 100")
        if not self.transfer_targets <= TRANSFER_TARGETS:
            raise InvalidInput("transfer targets are agent, queue and workgroup")
        if not 0 <= self.max_transfers <= 20:
            raise InvalidInput("transfers per chat must be 0 to 20")
        if self.identity not in set(IdentityMode):
            raise InvalidInput("identity is optional or required")
        if not 0 <= self.customer_idle_secs <= 86_400:
            raise InvalidInput("the idle time after the customer left must be 0 to 86400 seconds")
        return self


class AdminService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        *,
        staff: StaffStore,
        workgroups: WorkgroupStore,
        agents: AgentStore,
        accounts: AccountStore,
        audit: AuditStore,
    ) -> None:
        self._staff = staff
        self._workgroups = workgroups
        self._agents = agents
        self._accounts = accounts
        self._audit = audit
        self._db = db
        self._bus = bus
        self._clock = clock

    async def _record(
        self, tx: Tx, actor: Principal | None, action: str, user_id: int, details: dict[str, object]
    ) -> None:
        name = "operator" if not isinstance(actor, Staff) else f"staff:{actor.user_id}"
        await self._audit.record(tx, self._clock.now(), name, action, f"user:{user_id}", details)

    # Users ------------------------------------------------------------------------------------

    async def create_user(
        self,
        actor: Principal | None,
        username: str,
        password: str,
        role: StaffRole,
        display_name: str = "",
        workgroups: list[str] | None = None,
        *,
        email: str | None = None,
        allow_weak_password: bool = False,
    ) -> UserRow:
        """Create a staff account. ``actor`` None means the command line (the operator);
        ``allow_weak_password`` is for the demo's published accounts only. Its email must be
        at one of the company's domains when the account policy names any; guests are not
        made here (a room's owner invites them)."""
        if actor is not None:
            require_role(actor, StaffRole.ADMIN)
        if role is StaffRole.GUEST:
            raise InvalidInput("guests are invited into a room by its owner, not created here")
        check_name("a username", username)
        if not password or (len(password) < MIN_PASSWORD_CHARS and not allow_weak_password):
            raise InvalidInput(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
        display_name = display_name.strip() or username
        if len(display_name) > 128:
            raise InvalidInput("a display name is limited to 128 characters")
        password_hash = await hash_password(password)
        now = self._clock.now()
        try:
            async with self._db.write() as tx:
                policy = await self._accounts.policy(tx)
                account_policy.check_email(policy, role, email)
                if await self._staff.user_by_username(tx, username) is not None:
                    raise Conflict(f"the username {username!r} is taken")
                user_id = await self._staff.insert_user(
                    tx,
                    username,
                    shown_name(display_name, policy.name_format),
                    role,
                    password_hash,
                    now,
                    email=email,
                    name_as_entered=display_name,
                )
                await self._record(
                    tx,
                    actor,
                    "account.created",
                    user_id,
                    {"username": username, "role": role.value, "email": email},
                )
                await self._agents.insert_agent(tx, presence_policy.initial(user_id, now), now)
                for slug in workgroups or []:
                    wg = await self._workgroup(tx, slug)
                    await self._workgroups.add_member(tx, wg.id, user_id)
                user = await self._staff.user(tx, user_id)
        except IntegrityError:
            raise Conflict(f"the username {username!r} is taken") from None
        assert user is not None
        return user

    async def list_users(self, actor: Principal) -> list[UserRow]:
        require_role(actor, StaffRole.ADMIN)
        async with self._db.read() as tx:
            return await self._staff.list_users(tx)

    async def update_user(
        self,
        actor: Principal | None,
        username: str,
        *,
        role: StaffRole | None = None,
        active: bool | None = None,
        password: str | None = None,
        display_name: str | None = None,
        email: str | None = None,
    ) -> UserRow:
        if actor is not None:
            require_role(actor, StaffRole.ADMIN)
        if role is StaffRole.GUEST:
            raise InvalidInput("guests are invited into a room by its owner, not made here")
        values: dict[str, object] = {}
        if email is not None:
            values["email"] = email
        if role is not None:
            values["role"] = role.value
        if active is not None:
            values["active"] = active
        if display_name is not None:
            if not display_name.strip() or len(display_name) > 128:
                raise InvalidInput("a display name needs 1 to 128 characters")
            values["name_as_entered"] = display_name.strip()
        if password is not None:
            if len(password) < MIN_PASSWORD_CHARS:
                raise InvalidInput(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
            values["password_hash"] = await hash_password(password)
        async with self._db.write() as tx:
            user = await self._staff.user_by_username(tx, username)
            if user is None:
                raise NotFound(f"no user {username!r}")
            if role is not None and role is not user.role and user.role is StaffRole.GUEST:
                raise InvalidInput("a guest stays a guest; make a staff account instead")
            policy = await self._accounts.policy(tx)
            if user.role is not StaffRole.GUEST and (email is not None or role is not None):
                account_policy.check_email(policy, role or user.role, email or user.email)
            if display_name is not None:
                values["display_name"] = shown_name(display_name.strip(), policy.name_format)
            if values:
                await self._staff.update_user(tx, user.id, **values)
            await self._audit_update(tx, actor, user, role, active, password, display_name, email)
            if active is False or password is not None:
                # A deactivated account or a reset password ends every session and token.
                await self._staff.delete_tokens_of(tx, user.id)
            updated = await self._staff.user(tx, user.id)
            kicks = await self._workgroups.workgroups_of(tx, user.id)
        assert updated is not None
        notes: list[Notification] = [Kick(workgroup_id=w) for w in kicks]
        if active is False or password is not None or (role is not None and role != user.role):
            # Open sockets hold the old rights: close them (a new role applies on reconnect).
            notes.append(Revoke(user_id=user.id))
        await self._bus.publish(notes)
        return updated

    async def _audit_update(
        self,
        tx: Tx,
        actor: Principal | None,
        user: UserRow,
        role: StaffRole | None,
        active: bool | None,
        password: str | None,
        display_name: str | None,
        email: str | None,
    ) -> None:
        """One audit row per kind of change (what changed, never a password)."""
        if role is not None and role is not user.role:
            await self._record(
                tx, actor, "account.role_changed", user.id, {"from": user.role, "to": role.value}
            )
        if active is not None and active != user.active:
            action = "account.reactivated" if active else "account.deactivated"
            await self._record(tx, actor, action, user.id, {})
        if password is not None:
            await self._record(tx, actor, "account.password_reset", user.id, {})
        changed: dict[str, object] = {}
        if display_name is not None and display_name.strip() != user.entered_name:
            changed["display_name"] = display_name.strip()
        if email is not None and email != user.email:
            changed["email"] = email
        if changed:
            await self._record(tx, actor, "account.updated", user.id, changed)

    # Workgroups -------------------------------------------------------------------------------

    async def _user_ids(self, tx: Tx, usernames: list[str]) -> list[int]:
        ids = []
        for name in usernames:
            user = await self._staff.user_by_username(tx, name)
            if user is None:
                raise NotFound(f"no user {name!r}")
            ids.append(user.id)
        return ids

    async def _workgroup(self, tx: Tx, slug: str) -> WorkgroupRow:
        wg = await self._workgroups.workgroup_by_slug(tx, slug)
        if wg is None:
            raise NotFound(f"no workgroup {slug!r}")
        return wg

    async def create_workgroup(
        self,
        actor: Principal | None,
        slug: str,
        settings: WorkgroupSettings,
        members: list[str] | None = None,
    ) -> WorkgroupRow:
        if actor is not None:
            require_role(actor, StaffRole.ADMIN)
        check_name("a workgroup slug", slug)
        settings.validate()
        try:
            async with self._db.write() as tx:
                if await self._workgroups.workgroup_by_slug(tx, slug) is not None:
                    raise Conflict(f"the workgroup {slug!r} exists")
                wg_id = await self._workgroups.insert_workgroup(
                    tx,
                    slug,
                    settings.name.strip(),
                    settings.button_text,
                    settings.offer_timeout_secs,
                    settings.wait_timeout_secs,
                    settings.max_chats,
                    self._clock.now(),
                    settings.form_fields,
                )
                await self._workgroups.update_workgroup(tx, wg_id, **settings.routing_values())
                await self._workgroups.insert_queue(
                    tx, wg_id, self._clock.now(), name="default", position=0, is_default=True
                )
                await self._workgroups.set_members(
                    tx, wg_id, await self._user_ids(tx, members or [])
                )
                wg = await self._workgroups.workgroup(tx, wg_id)
        except IntegrityError:
            raise Conflict(f"the workgroup {slug!r} exists") from None
        assert wg is not None
        # Its dispatcher starts now: the node that is to run it takes its lock at once.
        await self._bus.publish([Kick(workgroup_id=wg.id)])
        return wg

    async def update_workgroup(
        self, actor: Principal, slug: str, settings: WorkgroupSettings
    ) -> WorkgroupRow:
        require_role(actor, StaffRole.ADMIN)
        settings.validate()
        async with self._db.write() as tx:
            wg = await self._workgroup(tx, slug)
            await self._workgroups.update_workgroup(
                tx,
                wg.id,
                name=settings.name.strip(),
                button_text=settings.button_text,
                offer_timeout_secs=settings.offer_timeout_secs,
                wait_timeout_secs=settings.wait_timeout_secs,
                max_chats=settings.max_chats,
                form_fields=fields_json(settings.form_fields),
                **settings.routing_values(),
            )
            updated = await self._workgroups.workgroup(tx, wg.id)
        assert updated is not None
        await self._bus.publish([Kick(workgroup_id=wg.id)])
        return updated

    async def list_workgroups(self, actor: Principal) -> list[tuple[WorkgroupRow, list[str]]]:
        require_role(actor, StaffRole.AGENT)
        async with self._db.read() as tx:
            users = {u.id: u.username for u in await self._staff.list_users(tx)}
            return [
                (wg, [users[m] for m in await self._workgroups.members(tx, wg.id)])
                for wg in await self._workgroups.list_workgroups(tx)
            ]

    async def set_members(
        self, actor: Principal | None, slug: str, usernames: list[str]
    ) -> list[str]:
        if actor is not None:
            require_role(actor, StaffRole.ADMIN)
        async with self._db.write() as tx:
            wg = await self._workgroup(tx, slug)
            await self._workgroups.set_members(tx, wg.id, await self._user_ids(tx, usernames))
        await self._bus.publish([Kick(workgroup_id=wg.id)])
        return sorted(set(usernames))
