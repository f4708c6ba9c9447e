"""Routing configuration: a workgroup's queues and rules, and each agent's skills and capacity.

Admins change them; agents and supervisors may read them. Every change kicks the workgroup's
dispatcher, so that a new skill or a relaxed queue takes effect at once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

from parley.clock import Clock
from parley.domain import routing, rules
from parley.domain.access import Principal, StaffRole, require_role, require_rule_editor
from parley.domain.errors import BadPattern, Conflict, InvalidInput, NotFound
from parley.realtime.bus import Bus
from parley.realtime.notifications import Kick
from parley.storage.agents import AgentStore
from parley.storage.db import Database
from parley.storage.staff import StaffStore
from parley.storage.tx import Tx
from parley.storage.workgroups import QueueRow, RuleRow, WorkgroupRow, WorkgroupStore

log = logging.getLogger(__name__)

MAX_QUEUES = 50
MAX_RULES = 200
MAX_SKILLS = 50
MAX_LEVEL = 10
_SKILL = re.compile(r"^[\w][\w .+-]{0,63}$")


@dataclass(frozen=True, slots=True)
class QueueSettings:
    name: str
    strategy: routing.Strategy = routing.Strategy.BEST
    skills: Mapping[str, int] = field(default_factory=dict)
    overflow_action: routing.OverflowAction = routing.OverflowAction.STAY
    overflow_secs: int | None = None
    #: The backup queue's name, for ``overflow_action == QUEUE``.
    overflow_target: str | None = None
    max_length: int | None = None


@dataclass(frozen=True, slots=True)
class RuleSettings:
    condition: dict[str, Any]
    queue: str
    priority: int = 0
    name: str = ""


@dataclass(frozen=True, slots=True)
class RuleTest:
    queue: str
    priority: int
    #: Index of the rule that matched, None when the default queue took it.
    rule: int | None


#: Stored rules already logged as holding a pattern RE2 cannot run: (rule id, condition).
_reported: set[tuple[int, str]] = set()


async def saved_rules(tx: Tx, workgroups: WorkgroupStore, workgroup_id: int) -> list[rules.Rule]:
    """A workgroup's rules as the router runs them. A rule saved before patterns were checked
    against RE2 may hold one RE2 cannot run: that test never matches (``rules.parse_stored``),
    and the rule is logged once per process, instead of failing every chat it sees."""
    out: list[rules.Rule] = []
    for row in await workgroups.rules(tx, workgroup_id):
        rule = row.rule()
        found = rules.problems(rule.condition)
        key = (row.id, repr(row.condition))
        if found and key not in _reported:
            _reported.add(key)
            log.warning(
                "routing rule %s (%r) of workgroup %s never matches: %s; edit it in the rule "
                "editor",
                row.position,
                row.name,
                workgroup_id,
                "; ".join(found),
            )
        out.append(rule)
    return out


def check_skills(skills: Mapping[str, int]) -> dict[str, int]:
    if len(skills) > MAX_SKILLS:
        raise InvalidInput(f"at most {MAX_SKILLS} skills")
    out: dict[str, int] = {}
    for name, level in skills.items():
        if not _SKILL.fullmatch(name):
            raise InvalidInput(f"skill {name!r}: 1-64 letters, digits, spaces, '.', '+' or '-'")
        if not 1 <= level <= MAX_LEVEL:
            raise InvalidInput(f"skill {name!r}: a level from 1 to {MAX_LEVEL}")
        out[name.casefold()] = level
    return out


class QueueService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        *,
        staff: StaffStore,
        workgroups: WorkgroupStore,
        agents: AgentStore,
    ) -> None:
        self._staff = staff
        self._workgroups = workgroups
        self._agents = agents
        self._db = db
        self._bus = bus
        self._clock = clock

    # Queues -----------------------------------------------------------------------------------

    async def queues(self, actor: Principal, slug: str) -> list[QueueRow]:
        require_role(actor, StaffRole.AGENT)
        async with self._db.read() as tx:
            return await self._workgroups.queues(
                tx, (await _workgroup(tx, self._workgroups, slug)).id
            )

    async def create_queue(self, actor: Principal, slug: str, settings: QueueSettings) -> QueueRow:
        require_role(actor, StaffRole.ADMIN)
        try:
            async with self._db.write() as tx:
                wg = await _workgroup(tx, self._workgroups, slug, lock=True)
                existing = await self._workgroups.queues(tx, wg.id)
                if len(existing) >= MAX_QUEUES:
                    raise InvalidInput(f"a workgroup has at most {MAX_QUEUES} queues")
                if any(q.name == settings.name for q in existing):
                    raise Conflict(f"the queue {settings.name!r} exists")
                values = _queue_values(settings, existing, None)
                queue_id = await self._workgroups.insert_queue(
                    tx,
                    wg.id,
                    self._clock.now(),
                    position=1 + max((q.position for q in existing), default=0),
                    is_default=False,
                    **values,
                )
                queue = await self._workgroups.queue(tx, queue_id)
        except IntegrityError:
            raise Conflict(f"the queue {settings.name!r} exists") from None
        assert queue is not None
        await self._bus.publish([Kick(workgroup_id=wg.id)])
        return queue

    async def update_queue(
        self, actor: Principal, slug: str, name: str, settings: QueueSettings
    ) -> QueueRow:
        require_role(actor, StaffRole.ADMIN)
        try:
            async with self._db.write() as tx:
                wg = await _workgroup(tx, self._workgroups, slug, lock=True)
                existing = await self._workgroups.queues(tx, wg.id)
                queue = _named(existing, name)
                if settings.name != name and any(q.name == settings.name for q in existing):
                    raise Conflict(f"the queue {settings.name!r} exists")
                await self._workgroups.update_queue(
                    tx, queue.id, **_queue_values(settings, existing, queue)
                )
                updated = await self._workgroups.queue(tx, queue.id)
        except IntegrityError:
            raise Conflict(f"the queue {settings.name!r} exists") from None
        assert updated is not None
        await self._bus.publish([Kick(workgroup_id=wg.id)])
        return updated

    async def delete_queue(self, actor: Principal, slug: str, name: str) -> None:
        """Delete a queue: its waiting requests move to the default queue, its rules go."""
        require_role(actor, StaffRole.ADMIN)
        async with self._db.write() as tx:
            wg = await _workgroup(tx, self._workgroups, slug, lock=True)
            existing = await self._workgroups.queues(tx, wg.id)
            queue = _named(existing, name)
            if queue.is_default:
                raise Conflict("the default queue cannot be deleted")
            default = next(q for q in existing if q.is_default)
            await self._workgroups.delete_queue(tx, queue.id, move_to=default.id)
        await self._bus.publish([Kick(workgroup_id=wg.id)])

    # Rules ------------------------------------------------------------------------------------

    async def rules(self, actor: Principal, slug: str) -> list[tuple[RuleRow, str]]:
        """The rules in order, each with its target queue's name."""
        require_role(actor, StaffRole.AGENT)
        async with self._db.read() as tx:
            wg = await _workgroup(tx, self._workgroups, slug)
            names = {q.id: q.name for q in await self._workgroups.queues(tx, wg.id)}
            return [(r, names.get(r.queue_id, "")) for r in await self._workgroups.rules(tx, wg.id)]

    async def set_rules(
        self, actor: Principal, slug: str, new: Sequence[RuleSettings]
    ) -> list[tuple[RuleRow, str]]:
        """Replace the rules, in order; every condition is checked before anything is saved."""
        require_rule_editor(actor)
        if len(new) > MAX_RULES:
            raise InvalidInput(f"a workgroup has at most {MAX_RULES} rules")
        async with self._db.write() as tx:
            wg = await _workgroup(tx, self._workgroups, slug, lock=True)
            existing = await self._workgroups.queues(tx, wg.id)
            rows = [
                (
                    r.name,
                    _checked_condition(r.condition, i, r.name),
                    _named(existing, r.queue, f"rule {i}: ").id,
                    _checked_priority(r.priority, i),
                )
                for i, r in enumerate(new)
            ]
            await self._workgroups.set_rules(tx, wg.id, rows)
            names = {q.id: q.name for q in existing}
            saved = [(r, names[r.queue_id]) for r in await self._workgroups.rules(tx, wg.id)]
        return saved

    async def test_rules(
        self,
        actor: Principal,
        slug: str,
        metadata: Mapping[str, Any],
        candidate: Sequence[RuleSettings] | None,
    ) -> RuleTest:
        """Which queue a request with ``metadata`` would go to: under the saved rules (as the
        router runs them), or under ``candidate`` rules before they are saved (the console's
        rule tester). For admins, as editing rules is: it runs their patterns."""
        require_rule_editor(actor)
        async with self._db.read() as tx:
            wg = await _workgroup(tx, self._workgroups, slug)
            existing = await self._workgroups.queues(tx, wg.id)
            if candidate is None:
                tried = await saved_rules(tx, self._workgroups, wg.id)
            else:
                tried = [
                    rules.Rule(
                        rules.parse(_checked_condition(r.condition, i, r.name)),
                        _named(existing, r.queue, f"rule {i}: ").id,
                        _checked_priority(r.priority, i),
                        r.name,
                    )
                    for i, r in enumerate(candidate)
                ]
        default = next(q for q in existing if q.is_default)
        decision = rules.route(tried, metadata, default.id)
        names = {q.id: q.name for q in existing}
        return RuleTest(names[decision.queue_id], decision.priority, decision.rule)

    # Agents -----------------------------------------------------------------------------------

    async def agent_routing(
        self, actor: Principal, username: str
    ) -> tuple[dict[str, int], int | None]:
        require_role(actor, StaffRole.AGENT)
        async with self._db.read() as tx:
            user = await self._staff.user_by_username(tx, username)
            if user is None:
                raise NotFound(f"no user {username!r}")
            return await self._agents.agent_routing(tx, user.id)

    async def set_agent_routing(
        self, actor: Principal, username: str, skills: Mapping[str, int], max_chats: int | None
    ) -> tuple[dict[str, int], int | None]:
        """An agent's skills (name -> level) and capacity (None: each workgroup's default)."""
        require_role(actor, StaffRole.ADMIN)
        checked = check_skills(skills)
        if max_chats is not None and not 1 <= max_chats <= 100:
            raise InvalidInput("max chats must be 1 to 100")
        async with self._db.write() as tx:
            user = await self._staff.user_by_username(tx, username)
            if user is None:
                raise NotFound(f"no user {username!r}")
            if await self._agents.agent(tx, user.id) is None:
                raise NotFound(f"{username!r} is not an agent")
            await self._agents.set_agent_routing(tx, user.id, checked, max_chats)
            workgroups = await self._workgroups.workgroups_of(tx, user.id)
        await self._bus.publish([Kick(workgroup_id=w) for w in workgroups])
        return checked, max_chats


async def _workgroup(
    tx: Tx, workgroups: WorkgroupStore, slug: str, *, lock: bool = False
) -> WorkgroupRow:
    wg = await workgroups.workgroup_by_slug(tx, slug)
    if wg is not None and lock:
        wg = await workgroups.workgroup(tx, wg.id, lock=True)
    if wg is None:
        raise NotFound(f"no workgroup {slug!r}")
    return wg


def _named(existing: Sequence[QueueRow], name: str, where: str = "") -> QueueRow:
    found = next((q for q in existing if q.name == name), None)
    if found is None:
        raise NotFound(f"{where}no queue {name!r} in this workgroup")
    return found


def _queue_values(
    settings: QueueSettings, existing: Sequence[QueueRow], me: QueueRow | None
) -> dict[str, Any]:
    name = settings.name.strip()
    if not name or len(name) > 64:
        raise InvalidInput("a queue needs a name of at most 64 characters")
    if settings.max_length is not None and not 1 <= settings.max_length <= 100_000:
        raise InvalidInput("the maximum queue length must be 1 to 100000")
    target: int | None = None
    action = settings.overflow_action
    secs = settings.overflow_secs
    if action is not routing.OverflowAction.STAY and (secs is None or not 5 <= secs <= 86_400):
        raise InvalidInput("overflow needs a time of 5 to 86400 seconds")
    if action is routing.OverflowAction.QUEUE:
        if settings.overflow_target is None:
            raise InvalidInput("overflow to a queue needs the backup queue's name")
        backup = _named(existing, settings.overflow_target, "overflow: ")
        if me is not None and backup.id == me.id:
            raise InvalidInput("a queue cannot overflow to itself")
        target = backup.id
    return {
        "name": name,
        "strategy": settings.strategy.value,
        "skills": check_skills(settings.skills),
        "overflow_action": action.value,
        "overflow_secs": None if action is routing.OverflowAction.STAY else settings.overflow_secs,
        "overflow_target": target,
        "max_length": settings.max_length,
    }


def _checked_condition(condition: dict[str, Any], index: int, name: str = "") -> dict[str, Any]:
    label = f"rule {index}" + (f" ({name.strip()!r})" if name.strip() else "")
    try:
        return rules.dump(rules.parse(condition))
    except BadPattern as exc:
        raise BadPattern(
            f"{label}: {exc.message}", where=exc.where, reason=exc.reason, rule=index
        ) from None
    except InvalidInput as exc:
        raise InvalidInput(f"{label}: {exc.message}") from None


def _checked_priority(priority: int, index: int) -> int:
    if not -100 <= priority <= 100:
        raise InvalidInput(f"rule {index}: a priority from -100 to 100")
    return priority
