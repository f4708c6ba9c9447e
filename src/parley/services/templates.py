"""Message templates: admins keep the company's greetings and sign-offs; every staff member
reads them (the console offers them in customer chats). Changes are audited
(``templates.created``, ``.updated``, ``.deleted``). A template the blocked words of
``staff_to_customer`` would refuse (or warn about) cannot be saved: an agent could not send it.
"""

from __future__ import annotations

from dataclasses import asdict

from parley.clock import Clock
from parley.domain import templates as policy
from parley.domain.access import Principal, StaffRole, require_role
from parley.domain.errors import InvalidInput, NotFound
from parley.domain.templates import Template, TemplateKind, Tone
from parley.domain.wordfilter import Outcome, Scope
from parley.services.house_rules import HouseRulesService, actor_of, refusal
from parley.storage.audit import AuditStore
from parley.storage.db import Database
from parley.storage.templates import TemplateStore
from parley.storage.tx import Tx

NO_SUCH_TEMPLATE = "no such template"


class TemplateService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        house_rules: HouseRulesService,
        *,
        templates: TemplateStore,
        audit: AuditStore,
    ) -> None:
        self._db = db
        self._clock = clock
        self._house_rules = house_rules
        self._templates = templates
        self._audit = audit

    async def templates(self, principal: Principal) -> list[Template]:
        require_role(principal, StaffRole.AGENT)
        async with self._db.read() as tx:
            return await self._templates.templates(tx)

    async def create(
        self, principal: Principal, title: str, text: str, kind: TemplateKind, tone: Tone
    ) -> Template:
        admin = require_role(principal, StaffRole.ADMIN)
        t = await self._checked(title, text, kind, tone)
        now = self._clock.now()
        async with self._db.write() as tx:
            if await self._templates.count(tx) >= policy.MAX_TEMPLATES:
                raise InvalidInput(f"at most {policy.MAX_TEMPLATES} templates")
            t = Template(t.title, t.text, t.kind, t.tone, await self._templates.insert(tx, t, now))
            await self._audited(tx, admin, "templates.created", t)
        return t

    async def update(
        self,
        principal: Principal,
        template_id: int,
        title: str,
        text: str,
        kind: TemplateKind,
        tone: Tone,
    ) -> Template:
        admin = require_role(principal, StaffRole.ADMIN)
        t = await self._checked(title, text, kind, tone, template_id)
        async with self._db.write() as tx:
            if not await self._templates.update(tx, t, self._clock.now()):
                raise NotFound(NO_SUCH_TEMPLATE)
            await self._audited(tx, admin, "templates.updated", t)
        return t

    async def delete(self, principal: Principal, template_id: int) -> None:
        admin = require_role(principal, StaffRole.ADMIN)
        async with self._db.write() as tx:
            t = await self._templates.template(tx, template_id)
            if t is None or not await self._templates.delete(tx, template_id):
                raise NotFound(NO_SUCH_TEMPLATE)
            await self._audited(tx, admin, "templates.deleted", t)

    async def _checked(
        self, title: str, text: str, kind: TemplateKind, tone: Tone, template_id: int = 0
    ) -> Template:
        t = policy.template(title, text, kind, tone, template_id)
        verdict = await self._house_rules.check(t.text, Scope.STAFF_TO_CUSTOMER)
        if verdict.outcome in (Outcome.REFUSED, Outcome.WARN):
            raise refusal(verdict)
        return t

    async def _audited(self, tx: Tx, admin: Principal, action: str, t: Template) -> None:
        details = {
            k: v.value if isinstance(v, TemplateKind | Tone) else v for k, v in asdict(t).items()
        }
        await self._audit.record(
            tx,
            self._clock.now(),
            actor_of(admin),
            action,
            f"template:{t.id}",
            details,
        )
