"""Workgroups and their members, queues, routing rules, business hours and identity keys.

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from parley.domain import routing, rules
from parley.domain.forms import FormField
from parley.domain.hours import BusinessHours, parse_hours, weekly_plain
from parley.domain.identity import Mode as IdentityMode
from parley.storage.tables import (
    chat_requests,
    identity_keys,
    queues,
    routing_rules,
    workgroup_hours,
    workgroup_members,
    workgroup_supervisors,
    workgroups,
)
from parley.storage.tx import Tx, lookupable


@dataclass(frozen=True, slots=True)
class WorkgroupRow:
    id: int
    slug: str
    name: str
    button_text: str
    offer_timeout_secs: int
    wait_timeout_secs: int
    max_chats: int
    created_at: datetime
    form_fields: tuple[FormField, ...] = ()
    decline_cooldown_secs: int = 20
    preferred_agent_secs: int = 10
    max_missed_offers: int = 3
    transfer_targets: frozenset[str] = frozenset({"agent", "queue", "workgroup"})
    max_transfers: int = 3
    invitations: bool = True
    identity: IdentityMode = IdentityMode.OPTIONAL
    #: Changes of its waiting requests so far (``routing_changes``): what a kept queue is at.
    routing_revision: int = 0
    #: How long a chat whose customer left waits before it ends by itself; 0: never.
    customer_idle_secs: int = 300

    def transfer_policy(self) -> routing.TransferPolicy:
        return routing.TransferPolicy(self.transfer_targets, self.max_transfers, self.invitations)

    def policy(self) -> routing.Policy:
        return routing.Policy(
            offer_timeout=timedelta(seconds=self.offer_timeout_secs),
            wait_timeout=timedelta(seconds=self.wait_timeout_secs),
            decline_cooldown=timedelta(seconds=self.decline_cooldown_secs),
            preferred_timeout=timedelta(seconds=self.preferred_agent_secs),
            max_missed=self.max_missed_offers,
        )


@dataclass(frozen=True, slots=True)
class IdentityKeyRow:
    """A key a workgroup's company signs identity tokens with (the secret is not in here)."""

    kid: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: int
    workgroup_id: int
    name: str
    position: int
    is_default: bool
    strategy: routing.Strategy
    skills: dict[str, int]
    overflow_action: routing.OverflowAction
    overflow_secs: int | None
    overflow_target: int | None
    max_length: int | None
    last_offered: int | None

    def spec(self) -> routing.QueueSpec:
        return routing.QueueSpec(
            queue_id=self.id,
            name=self.name,
            strategy=self.strategy,
            skills=dict(self.skills),
            overflow=routing.Overflow(
                self.overflow_action,
                None if self.overflow_secs is None else timedelta(seconds=self.overflow_secs),
                self.overflow_target,
            ),
            max_length=self.max_length,
        )


@dataclass(frozen=True, slots=True)
class RuleRow:
    id: int
    position: int
    name: str
    condition: dict[str, Any]
    queue_id: int
    priority: int

    def rule(self) -> rules.Rule:
        """As the router runs it: a pattern RE2 cannot run never matches (``parse_stored``)."""
        return rules.Rule(
            rules.parse_stored(self.condition), self.queue_id, self.priority, self.name
        )


@dataclass(frozen=True, slots=True)
class HoursRow:
    """A workgroup's business hours and its leave-a-message settings."""

    hours: BusinessHours
    queue_without_agents: bool = False
    email: str = ""


def fields_json(fields: tuple[FormField, ...]) -> list[dict[str, object]]:
    return [{"name": f.name, "label": f.label, "required": f.required} for f in fields]


def _workgroup(row: sa.Row[Any]) -> WorkgroupRow:
    return WorkgroupRow(
        row.id,
        row.slug,
        row.name,
        row.button_text,
        row.offer_timeout_secs,
        row.wait_timeout_secs,
        row.max_chats,
        row.created_at,
        tuple(FormField(f["name"], f["label"], bool(f.get("required"))) for f in row.form_fields),
        row.decline_cooldown_secs,
        row.preferred_agent_secs,
        row.max_missed_offers,
        frozenset(row.transfer_targets),
        row.max_transfers,
        bool(row.invitations),
        IdentityMode(row.identity),
        int(row.routing_revision),
        int(row.customer_idle_secs),
    )


def _queue(row: sa.Row[Any]) -> QueueRow:
    return QueueRow(
        row.id,
        row.workgroup_id,
        row.name,
        row.position,
        row.is_default,
        routing.Strategy(row.strategy),
        {str(k): int(v) for k, v in row.skills.items()},
        routing.OverflowAction(row.overflow_action),
        row.overflow_secs,
        row.overflow_target,
        row.max_length,
        row.last_offered,
    )


class WorkgroupStore:
    __slots__ = ()

    async def insert_workgroup(
        self,
        tx: Tx,
        slug: str,
        name: str,
        button_text: str,
        offer_timeout_secs: int,
        wait_timeout_secs: int,
        max_chats: int,
        now: datetime,
        form_fields: tuple[FormField, ...] = (),
    ) -> int:
        result = await tx.conn.execute(
            sa.insert(workgroups)
            .values(
                form_fields=fields_json(form_fields),
                slug=slug,
                name=name,
                button_text=button_text,
                offer_timeout_secs=offer_timeout_secs,
                wait_timeout_secs=wait_timeout_secs,
                max_chats=max_chats,
                created_at=now,
            )
            .returning(workgroups.c.id)
        )
        return int(result.scalar_one())

    async def workgroup(
        self, tx: Tx, workgroup_id: int, *, lock: bool = False
    ) -> WorkgroupRow | None:
        stmt = sa.select(workgroups).where(workgroups.c.id == workgroup_id)
        row = await tx.one(tx.locked(stmt) if lock else stmt)
        return None if row is None else _workgroup(row)

    async def workgroup_by_slug(self, tx: Tx, slug: str) -> WorkgroupRow | None:
        if not lookupable(slug):
            return None
        row = await tx.one(sa.select(workgroups).where(workgroups.c.slug == slug))
        return None if row is None else _workgroup(row)

    async def list_workgroups(self, tx: Tx) -> list[WorkgroupRow]:
        rows = await tx.all(sa.select(workgroups).order_by(workgroups.c.slug))
        return [_workgroup(r) for r in rows]

    async def update_workgroup(self, tx: Tx, workgroup_id: int, **values: Any) -> None:
        await tx.conn.execute(
            sa.update(workgroups).where(workgroups.c.id == workgroup_id).values(**values)
        )

    async def members(self, tx: Tx, workgroup_id: int) -> list[int]:
        rows = await tx.all(
            sa.select(workgroup_members.c.user_id)
            .where(workgroup_members.c.workgroup_id == workgroup_id)
            .order_by(workgroup_members.c.user_id)
        )
        return [int(r.user_id) for r in rows]

    async def add_member(self, tx: Tx, workgroup_id: int, user_id: int) -> None:
        if user_id not in await self.members(tx, workgroup_id):
            await tx.conn.execute(
                sa.insert(workgroup_members).values(workgroup_id=workgroup_id, user_id=user_id)
            )

    async def set_members(self, tx: Tx, workgroup_id: int, user_ids: Iterable[int]) -> None:
        await tx.conn.execute(
            sa.delete(workgroup_members).where(workgroup_members.c.workgroup_id == workgroup_id)
        )
        rows = [{"workgroup_id": workgroup_id, "user_id": u} for u in sorted(set(user_ids))]
        if rows:
            await tx.conn.execute(sa.insert(workgroup_members), rows)

    async def workgroups_of(self, tx: Tx, user_id: int) -> list[int]:
        rows = await tx.all(
            sa.select(workgroup_members.c.workgroup_id).where(
                workgroup_members.c.user_id == user_id
            )
        )
        return [int(r.workgroup_id) for r in rows]

    async def readable_by(self, tx: Tx, user_id: int) -> list[int]:
        """The workgroups whose customer chats a staff member reads (``access.can_read``):
        those they are a member of, and those they supervise."""
        rows = await tx.all(
            sa.union(
                sa.select(workgroup_members.c.workgroup_id).where(
                    workgroup_members.c.user_id == user_id
                ),
                sa.select(workgroup_supervisors.c.workgroup_id).where(
                    workgroup_supervisors.c.user_id == user_id
                ),
            )
        )
        return sorted(int(r.workgroup_id) for r in rows)

    async def queues(self, tx: Tx, workgroup_id: int) -> list[QueueRow]:
        rows = await tx.all(
            sa.select(queues)
            .where(queues.c.workgroup_id == workgroup_id)
            .order_by(queues.c.position, queues.c.id)
        )
        return [_queue(r) for r in rows]

    async def queue(self, tx: Tx, queue_id: int) -> QueueRow | None:
        row = await tx.one(sa.select(queues).where(queues.c.id == queue_id))
        return None if row is None else _queue(row)

    async def insert_queue(self, tx: Tx, workgroup_id: int, now: datetime, **values: Any) -> int:
        result = await tx.conn.execute(
            sa.insert(queues)
            .values(workgroup_id=workgroup_id, created_at=now, **values)
            .returning(queues.c.id)
        )
        return int(result.scalar_one())

    async def update_queue(self, tx: Tx, queue_id: int, **values: Any) -> None:
        await tx.conn.execute(sa.update(queues).where(queues.c.id == queue_id).values(**values))

    async def delete_queue(self, tx: Tx, queue_id: int, move_to: int) -> None:
        """Delete a queue; its waiting requests move to ``move_to``, ended ones keep no queue."""
        await tx.conn.execute(
            sa.update(chat_requests)
            .where(chat_requests.c.queue_id == queue_id, chat_requests.c.status == "waiting")
            .values(queue_id=move_to)
        )
        await tx.conn.execute(
            sa.update(chat_requests)
            .where(chat_requests.c.queue_id == queue_id)
            .values(queue_id=None)
        )
        await tx.conn.execute(
            sa.update(queues)
            .where(queues.c.overflow_target == queue_id)
            .values(overflow_action=routing.OverflowAction.STAY.value, overflow_target=None)
        )
        await tx.conn.execute(sa.delete(queues).where(queues.c.id == queue_id))

    async def set_last_offered(self, tx: Tx, queue_id: int, agent_id: int) -> None:
        await self.update_queue(tx, queue_id, last_offered=agent_id)

    async def rules(self, tx: Tx, workgroup_id: int) -> list[RuleRow]:
        rows = await tx.all(
            sa.select(routing_rules)
            .where(routing_rules.c.workgroup_id == workgroup_id)
            .order_by(routing_rules.c.position)
        )
        return [
            RuleRow(r.id, r.position, r.name, r.condition, r.queue_id, r.priority) for r in rows
        ]

    async def set_rules(
        self, tx: Tx, workgroup_id: int, new: Sequence[tuple[str, dict[str, Any], int, int]]
    ) -> None:
        """Replace the workgroup's rules by ``(name, condition, queue id, priority)``, in order."""
        await tx.conn.execute(
            sa.delete(routing_rules).where(routing_rules.c.workgroup_id == workgroup_id)
        )
        rows = [
            {
                "workgroup_id": workgroup_id,
                "position": i,
                "name": name,
                "condition": condition,
                "queue_id": queue_id,
                "priority": priority,
            }
            for i, (name, condition, queue_id, priority) in enumerate(new)
        ]
        if rows:
            await tx.conn.execute(sa.insert(routing_rules), rows)

    async def workgroup_hours(self, tx: Tx, workgroup_id: int) -> HoursRow | None:
        row = await tx.one(
            sa.select(workgroup_hours).where(workgroup_hours.c.workgroup_id == workgroup_id)
        )
        if row is None:
            return None
        hours = parse_hours(row.timezone, row.weekly, row.holidays, row.closed_by_hand)
        return HoursRow(hours, row.queue_without_agents, row.email)

    async def save_workgroup_hours(self, tx: Tx, workgroup_id: int, row: HoursRow) -> None:
        await tx.conn.execute(
            sa.delete(workgroup_hours).where(workgroup_hours.c.workgroup_id == workgroup_id)
        )
        await tx.conn.execute(
            sa.insert(workgroup_hours).values(
                workgroup_id=workgroup_id,
                timezone=row.hours.timezone,
                weekly=weekly_plain(row.hours),
                holidays=sorted(d.isoformat() for d in row.hours.holidays),
                closed_by_hand=row.hours.closed_by_hand,
                queue_without_agents=row.queue_without_agents,
                email=row.email,
            )
        )

    async def list_identity_keys(self, tx: Tx, workgroup_id: int) -> list[IdentityKeyRow]:
        rows = await tx.all(
            sa.select(identity_keys.c.kid, identity_keys.c.created_at)
            .where(identity_keys.c.workgroup_id == workgroup_id)
            .order_by(identity_keys.c.created_at, identity_keys.c.id)
        )
        return [IdentityKeyRow(r.kid, r.created_at) for r in rows]

    async def identity_secret(self, tx: Tx, workgroup_id: int, kid: str) -> str | None:
        if not lookupable(kid):
            return None
        row = await tx.one(
            sa.select(identity_keys.c.secret).where(
                identity_keys.c.workgroup_id == workgroup_id, identity_keys.c.kid == kid
            )
        )
        return None if row is None else str(row.secret)

    async def insert_identity_key(
        self, tx: Tx, workgroup_id: int, kid: str, secret: str, now: datetime
    ) -> None:
        await tx.conn.execute(
            sa.insert(identity_keys).values(
                workgroup_id=workgroup_id, kid=kid, secret=secret, created_at=now
            )
        )

    async def delete_identity_key(self, tx: Tx, workgroup_id: int, kid: str) -> bool:
        if not lookupable(kid):
            return False
        result = await tx.conn.execute(
            sa.delete(identity_keys).where(
                identity_keys.c.workgroup_id == workgroup_id, identity_keys.c.kid == kid
            )
        )
        return bool(result.rowcount)
