"""REST routes for the house rules: blocked words (list, create, change, delete, try a text) and
the audit log. Admins only; each handler resolves the principal and calls one method of
``HouseRulesService``, where the role is checked.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from parley.domain import wordfilter
from parley.domain.wordfilter import Action, Kind, Outcome, Scope
from parley.protocol import CleanInput
from parley.services.house_rules import MAX_AUDIT_ROWS, MAX_BLOCKED_WORDS, MAX_TEST_CHARS
from parley.storage.audit import AuditQuery, AuditRow
from parley.web.api import ERRORS
from parley.web.node import Node
from parley.web.params import RowId
from parley.web.security import Admin


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


class BlockedWordIn(_In):
    """A rule: a ``term`` (whole words; a trailing ``*`` for any ending; letters, digits,
    spaces, ``'`` and ``-``) or an RE2 ``pattern``, what to do when it matches, and where."""

    kind: Kind
    value: Annotated[str, Field(min_length=1, max_length=wordfilter.MAX_PATTERN_CHARS)]
    action: Action
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))
    reason: Annotated[str, Field(max_length=wordfilter.MAX_REASON_CHARS)] = Field(
        default="", description="What the sender is told (refuse, warn); the audit log keeps it."
    )

    def data(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "value": self.value,
            "action": self.action.value,
            "scopes": [s.value for s in self.scopes],
            "reason": self.reason,
        }


class BlockedWordOut(BaseModel):
    id: int
    kind: Kind
    value: str
    action: Action
    scopes: list[Scope]
    reason: str

    @classmethod
    def of(cls, rule: wordfilter.Rule) -> "BlockedWordOut":
        return cls.model_validate(wordfilter.dump_rule(rule))


class BlockedWordTestIn(_In):
    text: Annotated[str, Field(max_length=MAX_TEST_CHARS)]
    scope: Scope
    rules: list[BlockedWordIn] | None = Field(
        default=None,
        max_length=MAX_BLOCKED_WORDS,
        description="Rules to try instead of the saved ones (their ids are their indexes).",
    )


class HitOut(BaseModel):
    rule: int
    action: Action
    start: int = Field(description="Where the match starts in the text, in code points.")
    end: int
    matched: str = Field(description="The text's characters there, as written.")


class BlockedWordTestOut(BaseModel):
    outcome: Outcome
    text: str | None = Field(
        description="What would be stored (masked where a mask rule matched); null when refused"
        " or waiting for confirmation."
    )
    rule: int | None = Field(description="The refuse or warn rule that decided.")
    hits: list[HitOut]
    notify: list[int] = Field(description="Rules whose match a supervisor would be told of.")


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="staff:<user id> or visitor:<conversation id>.")
    action: str
    subject: str
    details: dict[str, Any]

    @classmethod
    def of(cls, row: AuditRow) -> "AuditOut":
        return cls(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            subject=row.subject,
            details=row.details,
        )


Filter = Annotated[str | None, Query(max_length=128)]


def router() -> APIRouter:
    """The routes, for every node: a handler reaches its own through ``parley: Node``."""
    api = APIRouter(prefix="/api/v1/admin", responses=ERRORS, tags=["house rules"])

    @api.get("/blocked-words")
    async def list_blocked_words(parley: Node, admin: Admin) -> list[BlockedWordOut]:
        return [BlockedWordOut.of(r) for r in await parley.house_rules.blocked_words(admin)]

    @api.post("/blocked-words", status_code=201)
    async def create_blocked_word(
        parley: Node, body: BlockedWordIn, admin: Admin
    ) -> BlockedWordOut:
        return BlockedWordOut.of(await parley.house_rules.create_blocked_word(admin, body.data()))

    @api.put("/blocked-words/{rule_id}")
    async def update_blocked_word(
        parley: Node, rule_id: RowId, body: BlockedWordIn, admin: Admin
    ) -> BlockedWordOut:
        rule = await parley.house_rules.update_blocked_word(admin, rule_id, body.data())
        return BlockedWordOut.of(rule)

    @api.delete("/blocked-words/{rule_id}", status_code=204)
    async def delete_blocked_word(parley: Node, rule_id: RowId, admin: Admin) -> None:
        await parley.house_rules.delete_blocked_word(admin, rule_id)

    @api.post("/blocked-words/test")
    async def test_blocked_words(
        parley: Node, body: BlockedWordTestIn, admin: Admin
    ) -> BlockedWordTestOut:
        """Runs on RE2 like every send; nothing is stored or audited."""
        rules = None if body.rules is None else [r.data() for r in body.rules]
        verdict = await parley.house_rules.test(admin, body.text, body.scope, rules)
        return BlockedWordTestOut(
            outcome=verdict.outcome,
            text=verdict.text,
            rule=None if verdict.rule is None else verdict.rule.id,
            hits=[
                HitOut(
                    rule=h.rule.id,
                    action=h.rule.action,
                    start=h.start,
                    end=h.end,
                    matched=h.matched,
                )
                for h in verdict.hits
            ],
            notify=[r.id for r in verdict.notify],
        )

    @api.get("/audit")
    async def audit(
        parley: Node,
        admin: Admin,
        action: Filter = None,
        actor: Filter = None,
        subject: Filter = None,
        since: AwareDatetime | None = None,
        until: AwareDatetime | None = None,
        before: Annotated[int | None, Query(ge=1)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_ROWS)] = 100,
    ) -> list[AuditOut]:
        """Newest first. ``action`` ``blocked_word`` finds every ``blocked_word.*``; ``before``
        an id pages back."""
        query = AuditQuery(action, actor, subject, since, until, before, limit)
        return [AuditOut.of(r) for r in await parley.house_rules.audit(admin, query)]

    return api
