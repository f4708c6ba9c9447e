"""REST routes for routing: queues, rules and the rule tester, agents' skills, manual pick.

Each handler resolves the principal and calls one service method (``QueueService`` for the
configuration, ``RoutingService`` for claiming); permissions are checked there.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from parley.domain import rules as rule_policy
from parley.domain.access import Staff
from parley.domain.routing import OverflowAction, Strategy
from parley.protocol import CleanInput, ConversationOut, WaitingOut
from parley.services.queues import QueueService, QueueSettings, RuleSettings
from parley.services.routing import TransferTarget
from parley.storage.workgroups import QueueRow, RuleRow
from parley.web.api import ERRORS, MAX_EXTRA_FIELDS, AcceptedOut, TranscriptOut
from parley.web.node import Node
from parley.web.security import Admin, AnyStaff

Skills = dict[Annotated[str, Field(max_length=64)], Annotated[int, Field(ge=1, le=10)]]


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


class QueueIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    strategy: Strategy = Strategy.BEST
    skills: Skills = Field(default_factory=dict, description="Skill -> minimum level (1-10).")
    overflow_action: OverflowAction = OverflowAction.STAY
    overflow_secs: Annotated[int | None, Field(ge=5, le=86_400)] = None
    overflow_target: Annotated[str | None, Field(max_length=64)] = Field(
        default=None, description="The backup queue's name, for overflow_action 'queue'."
    )
    max_length: Annotated[int | None, Field(ge=1, le=100_000)] = None

    def settings(self) -> QueueSettings:
        return QueueSettings(
            self.name,
            self.strategy,
            dict(self.skills),
            self.overflow_action,
            self.overflow_secs,
            self.overflow_target,
            self.max_length,
        )


class QueueOut(BaseModel):
    id: int
    name: str
    is_default: bool
    strategy: Strategy
    skills: dict[str, int]
    overflow_action: OverflowAction
    overflow_secs: int | None
    overflow_target: str | None
    max_length: int | None

    @classmethod
    def of(cls, queue: QueueRow, names: dict[int, str]) -> "QueueOut":
        return cls(
            id=queue.id,
            name=queue.name,
            is_default=queue.is_default,
            strategy=queue.strategy,
            skills=queue.skills,
            overflow_action=queue.overflow_action,
            overflow_secs=queue.overflow_secs,
            overflow_target=(
                None if queue.overflow_target is None else names.get(queue.overflow_target)
            ),
            max_length=queue.max_length,
        )


class RuleIO(_In):
    """A routing rule: when ``condition`` holds, the request goes to ``queue`` at ``priority``.
    See ``docs/protocol.md`` for the condition's form."""

    name: Annotated[str, Field(max_length=128)] = ""
    condition: dict[str, Any]
    queue: Annotated[str, Field(min_length=1, max_length=64)]
    priority: Annotated[int, Field(ge=-100, le=100)] = 0

    def settings(self) -> RuleSettings:
        return RuleSettings(self.condition, self.queue, self.priority, self.name)

    @classmethod
    def of(cls, rule: RuleRow, queue: str) -> "RuleIO":
        return cls(name=rule.name, condition=rule.condition, queue=queue, priority=rule.priority)


class RuleOut(RuleIO):
    problem: str | None = Field(
        default=None,
        description="Why this saved rule never matches (a pattern RE2 cannot run, saved before"
        " Parley checked patterns); null when it is fine. Saving it again is refused until"
        " the pattern is fixed.",
    )

    @classmethod
    def of(cls, rule: RuleRow, queue: str) -> "RuleOut":
        found = rule_policy.problems(rule.rule().condition)
        return cls(
            name=rule.name,
            condition=rule.condition,
            queue=queue,
            priority=rule.priority,
            problem="; ".join(found) or None,
        )


class RulesIn(_In):
    rules: list[RuleIO] = Field(max_length=200)


SampleText = Annotated[str, Field(max_length=rule_policy.MAX_FIELD_CHARS)]


class RuleSampleIn(_In):
    """Sample chat metadata for the rule tester, as the pre-chat form gives it. A rule looks at
    no more than the first 1,024 characters of a field, so no field here is longer."""

    name: SampleText = ""
    email: SampleText = ""
    question: SampleText = ""
    page: SampleText = ""
    extra: dict[Annotated[str, Field(max_length=64)], SampleText] = Field(
        default_factory=dict, max_length=MAX_EXTRA_FIELDS
    )


class RuleTestIn(_In):
    metadata: RuleSampleIn = Field(
        description="Sample chat metadata: name, email, question, page, extra: {field: value}."
    )
    rules: list[RuleIO] | None = Field(
        default=None, max_length=200, description="Rules to try instead of the saved ones."
    )


class RuleTestOut(BaseModel):
    queue: str
    priority: int
    rule: int | None = Field(description="Index of the matching rule; null: the default queue.")


class TransferIn(_In):
    kind: Literal["agent", "queue", "workgroup"]
    name: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="The agent's username, the queue's name or the workgroup's slug."
    )
    note: Annotated[str, Field(max_length=1000)] = ""


class AgentRoutingIO(_In):
    skills: Skills = Field(default_factory=dict)
    max_chats: Annotated[int | None, Field(ge=1, le=100)] = Field(
        default=None, description="Overrides the workgroups' capacity; null: theirs."
    )


async def _queue_out(queues: QueueService, staff: Staff, slug: str, queue: QueueRow) -> QueueOut:
    names = {q.id: q.name for q in await queues.queues(staff, slug)}
    return QueueOut.of(queue, names)


def router() -> APIRouter:
    """The routes, for every node: a handler reaches its own through ``parley: Node``."""
    api = APIRouter(prefix="/api/v1", responses=ERRORS)

    @api.get("/admin/workgroups/{slug}/queues", tags=["routing"])
    async def list_queues(parley: Node, slug: str, staff: AnyStaff) -> list[QueueOut]:
        found = await parley.queues.queues(staff, slug)
        names = {q.id: q.name for q in found}
        return [QueueOut.of(q, names) for q in found]

    @api.post("/admin/workgroups/{slug}/queues", status_code=201, tags=["routing"])
    async def create_queue(parley: Node, slug: str, body: QueueIn, admin: Admin) -> QueueOut:
        queue = await parley.queues.create_queue(admin, slug, body.settings())
        return await _queue_out(parley.queues, admin, slug, queue)

    @api.put("/admin/workgroups/{slug}/queues/{name}", tags=["routing"])
    async def update_queue(
        parley: Node, slug: str, name: str, body: QueueIn, admin: Admin
    ) -> QueueOut:
        queue = await parley.queues.update_queue(admin, slug, name, body.settings())
        return await _queue_out(parley.queues, admin, slug, queue)

    @api.delete("/admin/workgroups/{slug}/queues/{name}", status_code=204, tags=["routing"])
    async def delete_queue(parley: Node, slug: str, name: str, admin: Admin) -> None:
        await parley.queues.delete_queue(admin, slug, name)

    @api.get("/admin/workgroups/{slug}/rules", tags=["routing"])
    async def list_rules(parley: Node, slug: str, staff: AnyStaff) -> list[RuleOut]:
        return [RuleOut.of(r, q) for r, q in await parley.queues.rules(staff, slug)]

    @api.put("/admin/workgroups/{slug}/rules", tags=["routing"])
    async def set_rules(parley: Node, slug: str, body: RulesIn, admin: Admin) -> list[RuleOut]:
        saved = await parley.queues.set_rules(admin, slug, [r.settings() for r in body.rules])
        return [RuleOut.of(r, q) for r, q in saved]

    @api.post("/admin/workgroups/{slug}/rules/test", tags=["routing"])
    async def test_rules(parley: Node, slug: str, body: RuleTestIn, admin: Admin) -> RuleTestOut:
        """Admins only, as editing rules is; runs on RE2 like the router."""
        candidate = None if body.rules is None else [r.settings() for r in body.rules]
        metadata = body.metadata.model_dump()
        result = await parley.queues.test_rules(admin, slug, metadata, candidate)
        return RuleTestOut(queue=result.queue, priority=result.priority, rule=result.rule)

    @api.get("/admin/users/{username}/routing", tags=["routing"])
    async def agent_routing(parley: Node, username: str, staff: AnyStaff) -> AgentRoutingIO:
        skills, max_chats = await parley.queues.agent_routing(staff, username)
        return AgentRoutingIO(skills=skills, max_chats=max_chats)

    @api.put("/admin/users/{username}/routing", tags=["routing"])
    async def set_agent_routing(
        parley: Node, username: str, body: AgentRoutingIO, admin: Admin
    ) -> AgentRoutingIO:
        skills, max_chats = await parley.queues.set_agent_routing(
            admin, username, body.skills, body.max_chats
        )
        return AgentRoutingIO(skills=skills, max_chats=max_chats)

    @api.post("/conversations/{conversation_id}/transfer", status_code=202, tags=["agents"])
    async def transfer(
        parley: Node, conversation_id: str, body: TransferIn, staff: AnyStaff
    ) -> None:
        target = TransferTarget(body.kind, body.name)
        await parley.routing.transfer(staff, conversation_id, target, body.note)

    @api.post("/conversations/{conversation_id}/transfer/cancel", status_code=204, tags=["agents"])
    async def cancel_transfer(parley: Node, conversation_id: str, staff: AnyStaff) -> None:
        await parley.routing.cancel_transfer(staff, conversation_id)

    @api.get("/conversations/{conversation_id}/customer", tags=["agents"])
    async def customer_history(
        parley: Node, conversation_id: str, staff: AnyStaff
    ) -> list[ConversationOut]:
        return await parley.chat.customer_history(staff, conversation_id)

    @api.get("/conversations/{conversation_id}/customer/{other_id}", tags=["agents"])
    async def customer_transcript(
        parley: Node, conversation_id: str, other_id: str, staff: AnyStaff
    ) -> TranscriptOut:
        conv, entries = await parley.chat.customer_transcript(staff, conversation_id, other_id)
        return TranscriptOut(conversation=conv, entries=entries)

    @api.get("/waiting", tags=["agents"])
    async def waiting(parley: Node, staff: AnyStaff) -> list[WaitingOut]:
        return await parley.routing.waiting(staff)

    @api.post("/waiting/{conversation_id}/claim", tags=["agents"])
    async def claim(parley: Node, conversation_id: str, staff: AnyStaff) -> AcceptedOut:
        return AcceptedOut(conversation_id=await parley.routing.claim(staff, conversation_id))

    return api
