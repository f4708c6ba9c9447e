"""Canned responses: a workgroup's shared ones (kept by its supervisors and admins, used by its
agents), each staff member's personal ones, the ``/`` search of the reply box (with the company's
message templates), the insertion into a reply (placeholders filled in, usage counted), and each
workgroup's automatic greeting, sent in the accepting agent's name through the ordinary send.

Permissions: ``domain.access`` (``require_canned``, ``can_manage_workgroup_content``). A
response someone may not read reads like one that does not exist. Shared ones are audited
(``canned.created``, ``.updated``, ``.deleted``, ``canned.greeting_set``); personal ones are
nobody else's business. A text the blocked words of ``staff_to_customer`` refuse or warn about
cannot be saved, as for templates.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import asdict, dataclass, replace

from sqlalchemy.exc import IntegrityError

from parley.clock import Clock
from parley.domain import access, fuzzy, placeholders
from parley.domain import canned as policy
from parley.domain.access import NO_SUCH_CANNED, Principal, Staff, StaffRole, require_role
from parley.domain.canned import Candidate, Canned, Scope
from parley.domain.conversation import Kind, Role
from parley.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from parley.domain.placeholders import Rendered
from parley.domain.wordfilter import Outcome
from parley.domain.wordfilter import Scope as FilterScope
from parley.services.chat import ChatService
from parley.services.conversations import readable
from parley.services.house_rules import HouseRulesService, actor_of, refusal
from parley.storage.audit import AuditStore
from parley.storage.canned import CannedStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.templates import TemplateStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupRow, WorkgroupStore

log = logging.getLogger(__name__)

NO_SUCH_WORKGROUP = "no such workgroup"
NO_SUCH_TEMPLATE = "no such template"


@dataclass(frozen=True, slots=True)
class CannedView:
    canned: Canned
    #: The workgroup's slug of a shared response ("" for a personal one).
    workgroup: str
    #: Whether the reader may change it.
    editable: bool


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One result of the ``/`` search: a canned response or a message template."""

    kind: str  # canned | template
    id: int
    scope: str  # workgroup | personal | company
    shortcut: str
    title: str
    text: str
    category: str
    uses: int


def template_shortcut(title: str) -> str:
    """What a template is found by in the ``/`` search: its title's words, joined by '-'."""
    return "-".join(fuzzy.words(title))[: policy.MAX_SHORTCUT_CHARS] or "template"


class CannedService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        house_rules: HouseRulesService,
        chat: ChatService,
        *,
        canned: CannedStore,
        templates: TemplateStore,
        workgroups: WorkgroupStore,
        conversations: ConversationStore,
        audit: AuditStore,
    ) -> None:
        self._db = db
        self._clock = clock
        self._house_rules = house_rules
        self._chat = chat
        self._canned = canned
        self._templates = templates
        self._workgroups = workgroups
        self._conversations = conversations
        self._audit = audit

    # Reading -------------------------------------------------------------------------------

    async def _readable_workgroups(self, tx: Tx, staff: Staff) -> tuple[list[int] | None, set[int]]:
        """The workgroups whose shared responses ``staff`` reads (None: all) and those they
        are a member of."""
        member_of = set(await self._workgroups.readable_by(tx, staff.user_id))
        if access.rank(staff.role) >= access.rank(StaffRole.SUPERVISOR):
            return None, member_of
        return sorted(member_of), member_of

    async def responses(
        self, principal: Principal, *, workgroup: str | None = None, scope: Scope | None = None
    ) -> list[CannedView]:
        """What the principal may use: their personal responses and the shared ones of the
        workgroups they work in (``workgroup``: of that one only; ``scope``: only those)."""
        staff = require_role(principal, StaffRole.AGENT)
        async with self._db.read() as tx:
            readable_ids, member_of = await self._readable_workgroups(tx, staff)
            slugs = {w.id: w.slug for w in await self._workgroups.list_workgroups(tx)}
            ids: Collection[int] | None = readable_ids
            if workgroup is not None:
                wg = await self._workgroup(tx, staff, workgroup, member_of)
                ids = [wg.id]
            items = await self._canned.usable(tx, staff.user_id, ids)
        if workgroup is not None:
            items = [c for c in items if c.scope is Scope.WORKGROUP]
        if scope is not None:
            items = [c for c in items if c.scope is scope]
        return [self._view(staff, c, slugs, member_of) for c in items]

    async def response(self, principal: Principal, canned_id: int) -> CannedView:
        staff = require_role(principal, StaffRole.AGENT)
        async with self._db.read() as tx:
            c, member_of = await self._readable(tx, staff, canned_id)
            slugs = {w.id: w.slug for w in await self._workgroups.list_workgroups(tx)}
        return self._view(staff, c, slugs, member_of)

    def _view(
        self, staff: Staff, c: Canned, slugs: dict[int, str], member_of: Collection[int]
    ) -> CannedView:
        editable = c.owner_id == staff.user_id or (
            c.workgroup_id is not None
            and access.can_manage_workgroup_content(staff, c.workgroup_id, member_of)
        )
        slug = slugs.get(c.workgroup_id, "") if c.workgroup_id is not None else ""
        return CannedView(c, slug, editable)

    async def _readable(
        self, tx: Tx, staff: Staff, canned_id: int, *, edit: bool = False
    ) -> tuple[Canned, set[int]]:
        c = await self._canned.canned(tx, canned_id)
        if c is None:
            raise NotFound(NO_SUCH_CANNED)
        member_of = set(await self._workgroups.readable_by(tx, staff.user_id))
        access.require_canned(staff, c.workgroup_id, c.owner_id, member_of, edit=edit)
        return c, member_of

    async def _workgroup(
        self, tx: Tx, staff: Staff, slug: str, member_of: Collection[int]
    ) -> WorkgroupRow:
        wg = await self._workgroups.workgroup_by_slug(tx, slug)
        if wg is None or not access.can_work_in(staff, wg.id, member_of):
            raise NotFound(NO_SUCH_WORKGROUP)
        return wg

    # Writing -------------------------------------------------------------------------------

    async def _fields(
        self, tx: Tx, staff: Staff, workgroup_id: int | None, member_of: Collection[int]
    ) -> set[str]:
        """The pre-chat fields ``{field.<name>}`` may name: the workgroup's, or for a personal
        response those of every workgroup its owner works in."""
        if workgroup_id is not None:
            wg = await self._workgroups.workgroup(tx, workgroup_id)
            return {f.name for f in wg.form_fields} if wg is not None else set()
        names: set[str] = set()
        for wg in await self._workgroups.list_workgroups(tx):
            if access.can_work_in(staff, wg.id, member_of):
                names.update(f.name for f in wg.form_fields)
        return names

    async def _check_words(self, text: str) -> None:
        verdict = await self._house_rules.check(text, FilterScope.STAFF_TO_CUSTOMER)
        if verdict.outcome in (Outcome.REFUSED, Outcome.WARN):
            raise refusal(verdict)

    async def create(
        self,
        principal: Principal,
        scope: Scope,
        shortcut: str,
        title: str,
        text: str,
        category: str = "",
        *,
        workgroup: str | None = None,
    ) -> CannedView:
        staff = require_role(principal, StaffRole.AGENT)
        now = self._clock.now()
        try:
            async with self._db.write() as tx:
                member_of = set(await self._workgroups.readable_by(tx, staff.user_id))
                slugs = {w.id: w.slug for w in await self._workgroups.list_workgroups(tx)}
                if scope is Scope.WORKGROUP:
                    if workgroup is None:
                        raise InvalidInput("a shared canned response names its workgroup")
                    wg = await self._workgroup(tx, staff, workgroup, member_of)
                    access.require_workgroup_content_editor(
                        staff, wg.id, member_of, NO_SUCH_WORKGROUP
                    )
                    workgroup_id, owner_id, most = wg.id, None, policy.MAX_SHARED
                else:
                    if workgroup is not None:
                        raise InvalidInput("a personal canned response belongs to no workgroup")
                    workgroup_id, owner_id, most = None, staff.user_id, policy.MAX_PERSONAL
                item = policy.canned(
                    scope,
                    shortcut,
                    title,
                    text,
                    category,
                    workgroup_id=workgroup_id,
                    owner_id=owner_id,
                    fields=await self._fields(tx, staff, workgroup_id, member_of),
                )
                await self._check_words(item.text)
                count = await self._canned.count(tx, workgroup_id=workgroup_id, owner_id=owner_id)
                if count >= most:
                    raise InvalidInput(f"at most {most} canned responses here")
                if await self._canned.shortcut_taken(tx, item):
                    raise Conflict(f"the shortcut /{item.shortcut} is taken here")
                item = replace(item, id=await self._canned.insert(tx, item, now))
                if item.scope is Scope.WORKGROUP:
                    await self._audited(tx, staff, "canned.created", item)
        except IntegrityError:
            raise Conflict(f"the shortcut /{shortcut.strip().lower()} is taken here") from None
        return self._view(staff, item, slugs, member_of)

    async def update(
        self,
        principal: Principal,
        canned_id: int,
        shortcut: str,
        title: str,
        text: str,
        category: str = "",
    ) -> CannedView:
        staff = require_role(principal, StaffRole.AGENT)
        now = self._clock.now()
        try:
            async with self._db.write() as tx:
                old, member_of = await self._readable(tx, staff, canned_id, edit=True)
                slugs = {w.id: w.slug for w in await self._workgroups.list_workgroups(tx)}
                item = policy.canned(
                    old.scope,
                    shortcut,
                    title,
                    text,
                    category,
                    workgroup_id=old.workgroup_id,
                    owner_id=old.owner_id,
                    fields=await self._fields(tx, staff, old.workgroup_id, member_of),
                    id=old.id,
                )
                await self._check_words(item.text)
                if await self._canned.shortcut_taken(tx, item):
                    raise Conflict(f"the shortcut /{item.shortcut} is taken here")
                await self._canned.update(tx, item, now)
                item = replace(item, uses=old.uses)
                if item.scope is Scope.WORKGROUP:
                    await self._audited(tx, staff, "canned.updated", item)
        except IntegrityError:
            raise Conflict(f"the shortcut /{shortcut.strip().lower()} is taken here") from None
        return self._view(staff, item, slugs, member_of)

    async def delete(self, principal: Principal, canned_id: int) -> None:
        staff = require_role(principal, StaffRole.AGENT)
        async with self._db.write() as tx:
            old, _ = await self._readable(tx, staff, canned_id, edit=True)
            await self._canned.delete(tx, old.id)
            if old.scope is Scope.WORKGROUP:
                await self._audited(tx, staff, "canned.deleted", old)

    async def _audited(self, tx: Tx, staff: Staff, action: str, c: Canned) -> None:
        details = {k: v.value if isinstance(v, Scope) else v for k, v in asdict(c).items()}
        details.pop("uses", None)
        await self._audit.record(
            tx, self._clock.now(), actor_of(staff), action, f"canned:{c.id}", details
        )

    # The reply box -------------------------------------------------------------------------

    async def search(
        self,
        principal: Principal,
        query: str,
        *,
        conversation_id: str | None = None,
        limit: int = policy.MAX_RESULTS,
    ) -> list[Suggestion]:
        """What ``/query`` finds, best first (``domain.canned.search``): the principal's
        personal responses, the shared ones of the chat's workgroup (without a chat: of every
        workgroup they work in), and the company's message templates."""
        staff = require_role(principal, StaffRole.AGENT)
        if len(query) > 200:
            raise InvalidInput("a search is at most 200 characters")
        async with self._db.read() as tx:
            if conversation_id is not None:
                conv = await readable(
                    tx, self._workgroups, self._conversations, staff, conversation_id
                )
                ids: Collection[int] | None = (
                    [conv.workgroup_id] if conv.workgroup_id is not None else []
                )
            else:
                ids, _ = await self._readable_workgroups(tx, staff)
            items = await self._canned.usable(tx, staff.user_id, ids)
            templates = await self._templates.templates(tx)
        by_key: dict[tuple[str, int], Suggestion] = {}
        candidates: list[Candidate] = []
        for c in items:
            by_key["canned", c.id] = Suggestion(
                "canned", c.id, c.scope.value, c.shortcut, c.title, c.text, c.category, c.uses
            )
            candidates.append(Candidate("canned", c.id, c.shortcut, c.title, c.text, c.uses))
        for t in templates:
            shortcut = template_shortcut(t.title)
            by_key["template", t.id] = Suggestion(
                "template", t.id, "company", shortcut, t.title, t.text, t.kind.value, 0
            )
            candidates.append(Candidate("template", t.id, shortcut, t.title, t.text))
        return [by_key[c.kind, c.id] for c in policy.search(query, candidates, limit)]

    async def _values(self, tx: Tx, staff: Staff, conversation_id: str) -> dict[str, str]:
        conv = await readable(tx, self._workgroups, self._conversations, staff, conversation_id)
        if conv.kind is not Kind.CUSTOMER_CHAT:
            raise InvalidInput("canned responses are for customer chats")
        wg = (
            await self._workgroups.workgroup(tx, conv.workgroup_id)
            if conv.workgroup_id is not None
            else None
        )
        return placeholders.values_for(conv, staff.display_name, wg.name if wg else "")

    async def use(self, principal: Principal, conversation_id: str, canned_id: int) -> Rendered:
        """The response's text for this chat, its placeholders filled in, to put in the reply
        box for editing (nothing is sent); its usage counted."""
        staff = require_role(principal, StaffRole.AGENT)
        async with self._db.write() as tx:
            c, _ = await self._readable(tx, staff, canned_id)
            values = await self._values(tx, staff, conversation_id)
            await self._canned.used(tx, c.id, self._clock.now())
        return placeholders.render(c.text, values, lenient=True)

    async def use_template(
        self, principal: Principal, conversation_id: str, template_id: int
    ) -> Rendered:
        """A message template's text for this chat, placeholders filled in (a template saved
        before placeholders existed comes as it was written)."""
        staff = require_role(principal, StaffRole.AGENT)
        async with self._db.read() as tx:
            t = await self._templates.template(tx, template_id)
            if t is None:
                raise NotFound(NO_SUCH_TEMPLATE)
            values = await self._values(tx, staff, conversation_id)
        return placeholders.render(t.text, values, lenient=True)

    # The automatic greeting ----------------------------------------------------------------

    async def greeting(self, principal: Principal, slug: str) -> CannedView | None:
        staff = require_role(principal, StaffRole.AGENT)
        async with self._db.read() as tx:
            member_of = set(await self._workgroups.readable_by(tx, staff.user_id))
            wg = await self._workgroup(tx, staff, slug, member_of)
            c = await self._canned.greeting(tx, wg.id)
        return None if c is None else self._view(staff, c, {wg.id: wg.slug}, member_of)

    async def set_greeting(
        self, principal: Principal, slug: str, canned_id: int | None
    ) -> CannedView | None:
        """Make one of the workgroup's shared responses its automatic greeting (None: none)."""
        staff = require_role(principal, StaffRole.AGENT)
        async with self._db.write() as tx:
            member_of = set(await self._workgroups.readable_by(tx, staff.user_id))
            wg = await self._workgroup(tx, staff, slug, member_of)
            access.require_workgroup_content_editor(staff, wg.id, member_of, NO_SUCH_WORKGROUP)
            c = None
            if canned_id is not None:
                c = await self._canned.canned(tx, canned_id)
                if c is None or c.workgroup_id != wg.id:
                    raise InvalidInput("the greeting is one of this workgroup's shared responses")
            await self._canned.set_greeting(tx, wg.id, canned_id, self._clock.now())
            await self._audit.record(
                tx,
                self._clock.now(),
                actor_of(staff),
                "canned.greeting_set",
                f"workgroup:{wg.id}",
                {"canned_id": canned_id},
            )
        return None if c is None else self._view(staff, c, {wg.id: wg.slug}, member_of)

    async def greet(self, staff: Staff, conversation_id: str) -> None:
        """After ``staff`` accepted a chat: its workgroup's greeting, in their name, through the
        ordinary send (blocked words, idempotent by a client id of its own: sent once). Only the
        chat's first agent greets: not after a transfer. Never raises: the accept is done."""
        try:
            async with self._db.read() as tx:
                conv = await self._conversations.conversation(tx, conversation_id)
                if (
                    conv is None
                    or conv.kind is not Kind.CUSTOMER_CHAT
                    or conv.workgroup_id is None
                    or any(
                        p.role in (Role.AGENT, Role.HELPER) and p.key != staff.key
                        for p in conv.participants
                    )
                ):
                    return
                c = await self._canned.greeting(tx, conv.workgroup_id)
                wg = await self._workgroups.workgroup(tx, conv.workgroup_id)
            if c is None or wg is None:
                return
            values = placeholders.values_for(conv, staff.display_name, wg.name)
            text = placeholders.render(c.text, values, lenient=True).text.strip()
            if not text:
                return
            await self._chat.send(staff, conversation_id, f"greeting:{conversation_id}", text)
            async with self._db.write() as tx:
                await self._canned.used(tx, c.id, self._clock.now())
        except DomainError as exc:
            log.warning("greeting of %s not sent: %s", conversation_id, exc)
        except Exception:
            log.exception("greeting of %s not sent", conversation_id)
