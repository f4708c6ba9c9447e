"""Reports use cases: a workgroup's numbers over a range, per period and per agent, with each
agent's time per presence (``docs/metrics.md``, "Reports").

One read transaction: who may see it (``access.require_reports``), the workgroup's zone and
settings, the facts (``ReportStore.facts``); then the pure computation
(``parley.domain.reports``) outside it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime

from parley.clock import Clock
from parley.domain import access, reports
from parley.domain.access import Principal, Staff, StaffRole
from parley.domain.errors import NotFound, RateLimited
from parley.domain.presence import Presence
from parley.storage.db import Database
from parley.storage.reports import ReportStore
from parley.storage.supervision import SupervisionStore
from parley.storage.workgroups import WorkgroupStore

#: Reports made at once on a node; one more is refused (429) rather than queued.
MAX_RUNNING = 2
BUSY_RETRY_SECS = 5
NO_SUCH_QUEUE = "no such queue"
NO_SUCH_AGENT = "no such agent"


@dataclass(frozen=True, slots=True)
class AgentLine:
    user_id: int
    name: str
    numbers: reports.Numbers


@dataclass(frozen=True, slots=True)
class PresenceLine:
    user_id: int
    name: str
    secs: dict[Presence, float]


@dataclass(frozen=True, slots=True)
class Report:
    slug: str
    name: str
    #: The IANA zone the periods are cut in; None: UTC (the workgroup has no business hours).
    zone: str | None
    window: reports.Window
    scope: reports.Scope
    settings: reports.Settings
    rows: list[tuple[datetime, reports.Numbers]]
    total: reports.Numbers
    agents: list[AgentLine]
    presence: list[PresenceLine]
    at: datetime
    #: What the report can be narrowed to: the workgroup's queues and members (id, name).
    queues: list[tuple[int, str]]
    members: list[tuple[int, str]]


class ReportService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        workgroups: WorkgroupStore,
        supervision: SupervisionStore,
        reports: ReportStore,
        max_running: int = MAX_RUNNING,
    ) -> None:
        self._db = db
        self._clock = clock
        self._workgroups = workgroups
        self._supervision = supervision
        self._reports = reports
        self._max_running = max_running
        #: Reports being made on this node now.
        self._running = 0

    async def report(
        self,
        principal: Principal,
        slug: str,
        first: date,
        last: date,
        granularity: reports.Granularity,
        *,
        queue_id: int | None = None,
        agent_id: int | None = None,
    ) -> Report:
        now = self._clock.now()
        staff = access.require_supervisor(principal)
        if self._running >= self._max_running:
            raise RateLimited(
                "reports are being made for others right now; try again shortly", BUSY_RETRY_SECS
            )
        self._running += 1
        try:
            return await self._report(
                staff, slug, first, last, granularity, queue_id, agent_id, now
            )
        finally:
            self._running -= 1

    async def _report(
        self,
        staff: Staff,
        slug: str,
        first: date,
        last: date,
        granularity: reports.Granularity,
        queue_id: int | None,
        agent_id: int | None,
        now: datetime,
    ) -> Report:
        async with self._db.read() as tx:
            wg = await self._workgroups.workgroup_by_slug(tx, slug)
            supervises = (
                await self._supervision.supervised_by(tx, staff.user_id)
                if staff.role is StaffRole.SUPERVISOR
                else []
            )
            access.require_reports(staff, None if wg is None else wg.id, supervises)
            assert wg is not None
            if queue_id is not None and queue_id not in {
                q.id for q in await self._workgroups.queues(tx, wg.id)
            }:
                raise NotFound(NO_SUCH_QUEUE)
            members = await self._reports.members(tx, wg.id)
            if agent_id is not None and agent_id not in members:
                raise NotFound(NO_SUCH_AGENT)
            hours = await self._workgroups.workgroup_hours(tx, wg.id)
            zone = None if hours is None else hours.hours.timezone
            w = reports.window(zone, first, last, granularity)
            board = await self._supervision.settings(tx, wg.id)
            settings = reports.Settings(
                board.sl_target_secs, await self._reports.fcr_window_hours(tx, wg.id)
            )
            facts = await self._reports.facts(tx, wg.id, w.start, w.end, settings.fcr_window_hours)
            # Everyone the facts name, for the names shown (read here, computed outside).
            named = {*members, *(p.user_id for p in facts.periods)}
            named |= {r.agent_id for r in facts.requests if r.agent_id is not None}
            named |= {s.agent_id for s in facts.stretches}
            named |= {o.agent_id for o in facts.missed_offers}
            named |= {g.agent_id for g in facts.ratings if g.agent_id is not None}
            named |= {t.from_agent for t in facts.transfers if t.from_agent is not None}
            names = await self._reports.names(tx, named)
            queues = [(q.id, q.name) for q in await self._workgroups.queues(tx, wg.id)]
        # The computation, outside the read transaction, and off the event loop: a year of a
        # busy workgroup is seconds of CPU (docs/performance.md, "Reports").
        scope = reports.Scope(queue_id, agent_id)
        rows, whole, per_agent, presence = await asyncio.to_thread(
            _compute, facts, w, scope, settings, now
        )
        # Every member, and whoever else counted here (a former member, a supervisor who took
        # a chat over); narrowed to an agent, that agent alone.
        shown = (
            [agent_id]
            if agent_id is not None
            else sorted(set(per_agent) | set(presence) | set(members))
        )
        return Report(
            slug=wg.slug,
            name=wg.name,
            zone=zone,
            window=w,
            scope=scope,
            settings=settings,
            rows=rows,
            total=whole,
            agents=[AgentLine(a, names.get(a, ""), per_agent.get(a, reports.EMPTY)) for a in shown],
            presence=[
                PresenceLine(a, names.get(a, ""), presence.get(a, dict.fromkeys(Presence, 0.0)))
                for a in shown
            ],
            at=now,
            queues=queues,
            members=sorted(
                ((m, names.get(m, "")) for m in members), key=lambda m: (m[1].casefold(), m[0])
            ),
        )


def _compute(
    facts: reports.Facts,
    w: reports.Window,
    scope: reports.Scope,
    settings: reports.Settings,
    now: datetime,
) -> tuple[
    list[tuple[datetime, reports.Numbers]],
    reports.Numbers,
    dict[int, reports.Numbers],
    dict[int, dict[Presence, float]],
]:
    slots = reports.slot_secs(facts.stretches)
    rows, whole = reports.report(facts, w, scope, settings, now, slots)
    per_agent = reports.by_agent(facts, w, scope.queue_id, settings, now, slots)
    presence = reports.presence_secs(facts.periods, w.start, min(w.end, now), now)
    return rows, whole, per_agent, presence
