"""House rules: the blocked words an admin sets, the filter every send goes through, and the
audit log of what it refused, masked or reported.

The node keeps the rule set compiled (``domain.wordfilter.WordFilter``: compiling 200 rules
takes milliseconds, checking a message microseconds). A change made on this node takes effect
at once; one made on another node within ``REFRESH_SECS`` (the node compares a version of the
rule set, one cheap read, at most that often). Only admins read and change the rules and read
the audit log (``access.require_role``).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from parley.clock import Clock
from parley.domain import wordfilter
from parley.domain.access import Principal, Staff, StaffRole, Visitor, require_role
from parley.domain.errors import BlockedWord, BlockedWordWarning, InvalidInput, NotFound
from parley.domain.wordfilter import Outcome, Scope, Verdict
from parley.protocol import BlockedWordNotice
from parley.realtime.bus import Bus
from parley.realtime.notifications import ToUser
from parley.storage.audit import AuditQuery, AuditRow, AuditStore
from parley.storage.db import Database
from parley.storage.house_rules import HouseRuleStore
from parley.storage.staff import StaffStore
from parley.storage.tx import Tx

#: How stale a node's compiled rule set may be after a change made on another node.
REFRESH_SECS = 2
#: The most rules in the rule set (each one is compiled on every node).
MAX_BLOCKED_WORDS = 500
#: The most audit rows one search returns.
MAX_AUDIT_ROWS = 500
#: The longest text the rule tester takes (a message is at most the node's message limit).
MAX_TEST_CHARS = 10_000
#: A message is read after the same sender's previous one in the conversation (a term split
#: over the two: "guaran", then "tee") when that one was sent at most this long before.
PREVIOUS_MESSAGE_SECS = 60
#: The most (conversation, sender) pairs whose last message a node remembers for that.
MAX_REMEMBERED_SENDERS = 10_000


def actor_of(principal: Principal) -> str:
    """How the audit log names who did something."""
    if isinstance(principal, Visitor):
        return f"visitor:{principal.conversation_id}"
    return f"staff:{principal.user_id}"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An audit row to write in the transaction that stores the message it is about."""

    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    #: Supervisors are to be told (a notify rule, or a confirmed warning, matched).
    notice: BlockedWordNotice | None = None


def _hit_details(verdict: Verdict) -> list[dict[str, Any]]:
    return [
        {
            "rule": hit.rule.id,
            "action": hit.rule.action.value,
            "start": hit.start,
            "end": hit.end,
            "matched": hit.matched,
        }
        for hit in verdict.hits
    ]


def audit_record(
    principal: Principal, conversation_id: str, scope: Scope, text: str, verdict: Verdict
) -> AuditRecord | None:
    """What the audit log keeps of a checked message: refused (the text as written, which is
    stored nowhere else), masked (the text as written and as stored), or a notify rule (or a
    confirmed warning) matched. None when there is nothing to audit."""
    if not verdict.audited:
        return None
    if verdict.outcome is Outcome.REFUSED:
        action = "blocked_word.refused"
    elif verdict.outcome is Outcome.MASKED:
        action = "blocked_word.masked"
    else:
        action = "blocked_word.notified"
    details: dict[str, Any] = {
        "scope": scope.value,
        "text": text,
        "hits": _hit_details(verdict),
        "notify": [r.id for r in verdict.notify],
    }
    if verdict.outcome is Outcome.MASKED:
        details["stored"] = verdict.text
    if verdict.rule is not None:
        details["rule"] = verdict.rule.id
    actor = actor_of(principal)
    notice = None
    reporting = verdict.notify
    if reporting and verdict.outcome is not Outcome.REFUSED:
        ids = {r.id for r in reporting}
        words = [h.matched for h in verdict.hits if h.rule.id in ids]
        notice = BlockedWordNotice(
            conversation_id=conversation_id,
            actor=actor,
            scope=scope.value,
            rules=sorted(ids),
            words=list(dict.fromkeys(words)),
        )
    return AuditRecord(actor, action, conversation_id, details, notice)


def refusal(verdict: Verdict) -> BlockedWord:
    """The error a refused or unconfirmed message gets: the rule's reason and the words."""
    assert verdict.rule is not None
    rule = verdict.rule
    words = verdict.matched_words
    quoted = ", ".join(f'"{w}"' for w in words)
    if verdict.outcome is Outcome.WARN:
        reason = rule.reason or "this message contains words the house rules warn about"
        message = f"{reason} ({quoted}): send it again with confirm to send it as it is"
        return BlockedWordWarning(message, rule=rule.id, reason=reason, words=words)
    reason = rule.reason or "this message contains words the house rules do not allow"
    return BlockedWord(f"{reason} ({quoted})", rule=rule.id, reason=reason, words=words)


@dataclass(frozen=True, slots=True)
class _Compiled:
    version: tuple[int, int, datetime | None]
    filter: wordfilter.WordFilter
    checked_at: datetime


class HouseRulesService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        *,
        staff: StaffStore,
        house_rules: HouseRuleStore,
        audit: AuditStore,
    ) -> None:
        self._db = db
        self._bus = bus
        self._staff = staff
        self._clock = clock
        self._house_rules = house_rules
        self._audit = audit
        self._compiled: _Compiled | None = None
        #: One refresh at a time: when the rule set is due for a check, the sends that arrive
        #: meanwhile wait for that one read instead of each taking a database connection (at
        #: 2,000 messages a second they emptied the pool and timed out).
        self._refresh = asyncio.Lock()
        #: (conversation, sender, private) -> the last message stored and when (``said``).
        self._last_said: OrderedDict[tuple[str, str, bool], tuple[str, datetime]] = OrderedDict()

    # The filter, for services that take text from people --------------------------------

    async def check(
        self, text: str, scope: Scope, *, confirmed: bool = False, previous: str = ""
    ) -> Verdict:
        """The verdict of the current rule set on ``text`` written in ``scope``, read after
        ``previous`` (the sender's message just before, see ``previous``)."""
        compiled = await self._current()
        if not compiled.filter.applies(scope):
            return Verdict(Outcome.ALLOWED, text)
        return compiled.filter.check(text, scope, confirmed=confirmed, previous=previous)

    def previous(self, conversation_id: str, sender: str, private: bool) -> str:
        """The sender's last message stored in the conversation through this node, if it was
        stored within ``PREVIOUS_MESSAGE_SECS``; else "". Kept in memory, per node (a sender's
        consecutive messages through two nodes are each read alone)."""
        said = self._last_said.get((conversation_id, sender, private))
        if said is None or self._clock.now() - said[1] > timedelta(seconds=PREVIOUS_MESSAGE_SECS):
            return ""
        return said[0]

    def said(self, conversation_id: str, sender: str, private: bool, text: str) -> None:
        """Remember the message just stored, as stored, for ``previous`` (only its end, what
        the filter reads of it: at most ``wordfilter.MAX_PREVIOUS_CHARS`` characters)."""
        key = (conversation_id, sender, private)
        self._last_said[key] = (wordfilter.previous_tail(text), self._clock.now())
        self._last_said.move_to_end(key)
        while len(self._last_said) > MAX_REMEMBERED_SENDERS:
            self._last_said.popitem(last=False)

    async def record_refusal(self, record: AuditRecord) -> None:
        """Audit a refused message in a transaction of its own (nothing else is stored)."""
        async with self._db.write() as tx:
            await self.record(tx, record)

    async def record(self, tx: Tx, record: AuditRecord) -> None:
        await self._audit.record(
            tx, self._clock.now(), record.actor, record.action, record.subject, record.details
        )

    async def notify(self, record: AuditRecord) -> None:
        """Tell every active supervisor and admin about a stored message a notify rule
        matched (after its commit; a hint like every notification: the audit log is the
        record)."""
        if record.notice is None:
            return
        async with self._db.read() as tx:
            users = await self._staff.list_users(tx)
        message = record.notice.model_dump(mode="json")
        recipients = sorted(u.id for u in users if u.active and u.role is not StaffRole.AGENT)
        await self._bus.publish([ToUser(user_id=u, message=message) for u in recipients])

    async def _current(self) -> _Compiled:
        compiled = self._fresh()
        if compiled is not None:
            return compiled
        async with self._refresh:
            compiled = self._fresh()  # refreshed while this one waited
            if compiled is not None:
                return compiled
            return await self._reload()

    def _fresh(self) -> _Compiled | None:
        compiled = self._compiled
        if compiled is not None and self._clock.now() - compiled.checked_at < timedelta(
            seconds=REFRESH_SECS
        ):
            return compiled
        return None

    async def _reload(self) -> _Compiled:
        now = self._clock.now()
        compiled = self._compiled
        async with self._db.read() as tx:
            version = await self._house_rules.blocked_words_version(tx)
            if compiled is not None and compiled.version == version:
                self._compiled = _Compiled(version, compiled.filter, now)
                return self._compiled
            rules = await self._house_rules.blocked_words(tx)
        self._compiled = _Compiled(version, wordfilter.WordFilter(rules), now)
        return self._compiled

    # Admins ---------------------------------------------------------------------------------

    async def blocked_words(self, principal: Principal) -> list[wordfilter.Rule]:
        require_role(principal, StaffRole.ADMIN)
        async with self._db.read() as tx:
            return await self._house_rules.blocked_words(tx)

    async def create_blocked_word(self, principal: Principal, data: Any) -> wordfilter.Rule:
        admin = require_role(principal, StaffRole.ADMIN)
        rule = wordfilter.parse_rule(data)
        now = self._clock.now()
        async with self._db.write() as tx:
            if await self._house_rules.count_blocked_words(tx) >= MAX_BLOCKED_WORDS:
                raise InvalidInput(f"at most {MAX_BLOCKED_WORDS} blocked-word rules")
            rule_id = await self._house_rules.insert_blocked_word(tx, rule, now)
            rule = wordfilter.Rule(
                rule.kind, rule.value, rule.action, rule.scopes, rule.reason, rule_id
            )
            await self._changed(tx, admin, "blocked_words.created", rule, now)
        self._compiled = None
        return rule

    async def update_blocked_word(
        self, principal: Principal, rule_id: int, data: Any
    ) -> wordfilter.Rule:
        admin = require_role(principal, StaffRole.ADMIN)
        rule = wordfilter.parse_rule(data, rule_id=rule_id)
        now = self._clock.now()
        async with self._db.write() as tx:
            if not await self._house_rules.update_blocked_word(tx, rule, now):
                raise NotFound("no such blocked-word rule")
            await self._changed(tx, admin, "blocked_words.updated", rule, now)
        self._compiled = None
        return rule

    async def delete_blocked_word(self, principal: Principal, rule_id: int) -> None:
        admin = require_role(principal, StaffRole.ADMIN)
        now = self._clock.now()
        async with self._db.write() as tx:
            rule = await self._house_rules.blocked_word(tx, rule_id)
            if rule is None or not await self._house_rules.delete_blocked_word(tx, rule_id):
                raise NotFound("no such blocked-word rule")
            await self._changed(tx, admin, "blocked_words.deleted", rule, now)
        self._compiled = None

    async def test(
        self, principal: Principal, text: str, scope: Scope, rules: list[Any] | None = None
    ) -> Verdict:
        """What the saved rules (or ``rules``, not saved) decide for ``text`` in ``scope``."""
        require_role(principal, StaffRole.ADMIN)
        if len(text) > MAX_TEST_CHARS:
            raise InvalidInput(f"a text of at most {MAX_TEST_CHARS} characters")
        if rules is None:
            compiled = (await self._current()).filter
        else:
            if len(rules) > MAX_BLOCKED_WORDS:
                raise InvalidInput(f"at most {MAX_BLOCKED_WORDS} blocked-word rules")
            compiled = wordfilter.WordFilter(
                wordfilter.parse_rule(r, rule_id=i) for i, r in enumerate(rules)
            )
        return compiled.check(text, scope)

    async def audit(self, principal: Principal, query: AuditQuery) -> list[AuditRow]:
        require_role(principal, StaffRole.ADMIN)
        if not 1 <= query.limit <= MAX_AUDIT_ROWS:
            raise InvalidInput(f"limit: 1 to {MAX_AUDIT_ROWS}")
        async with self._db.read() as tx:
            return await self._audit.search(tx, query)

    async def _changed(
        self, tx: Tx, admin: Staff, action: str, rule: wordfilter.Rule, now: datetime
    ) -> None:
        await self._audit.record(
            tx, now, actor_of(admin), action, f"blocked_word:{rule.id}", wordfilter.dump_rule(rule)
        )
