"""The knowledge base: a workgroup's articles, kept by its supervisors and admins, read and
searched by its agents; suggested beside each chat from what the customer asked; its public
articles searched by anyone in the workgroup's widget, who may say one answered their question
and leave the queue.

Permissions: ``domain.access`` (``require_workgroup_content_reader`` / ``_editor``,
``can_read_public_article``). An article someone may not read, and for the widget an internal
one or another workgroup's, reads like one that does not exist. Changes are audited
(``kb.created``, ``.updated``, ``.deleted``). Bodies are Markdown, rendered and sanitized once
when saved (``parley.markup``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

from parley import markup
from parley.clock import Clock
from parley.domain import access
from parley.domain import knowledge as policy
from parley.domain.access import NO_SUCH_ARTICLE, Principal, Staff, StaffRole, Visitor, require_role
from parley.domain.conversation import VISITOR_KEY, EntryKind, Kind, Status
from parley.domain.errors import InvalidInput, NotFound
from parley.domain.knowledge import Article, Stored, Visibility
from parley.services.chat import ChatService
from parley.services.conversations import readable
from parley.services.house_rules import actor_of
from parley.storage.audit import AuditStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.knowledge import KnowledgeStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupRow, WorkgroupStore

NO_SUCH_WORKGROUP = "no such workgroup"
#: How far back the suggestions read a chat's entries for the customer's latest messages.
SCAN_ENTRIES = 60


@dataclass(frozen=True, slots=True)
class Hit:
    stored: Stored
    workgroup: str
    excerpt: str
    #: Comparable within one search only; 0 for a list without a query.
    rank: float = 0.0
    editable: bool = False


class KnowledgeService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        chat: ChatService,
        *,
        knowledge: KnowledgeStore,
        workgroups: WorkgroupStore,
        conversations: ConversationStore,
        audit: AuditStore,
    ) -> None:
        self._db = db
        self._clock = clock
        self._chat = chat
        self._kb = knowledge
        self._workgroups = workgroups
        self._conversations = conversations
        self._audit = audit

    async def _staff_scope(self, tx: Tx, staff: Staff) -> tuple[list[int] | None, set[int]]:
        member_of = set(await self._workgroups.readable_by(tx, staff.user_id))
        if access.rank(staff.role) >= access.rank(StaffRole.SUPERVISOR):
            return None, member_of
        return sorted(member_of), member_of

    async def _workgroup(
        self, tx: Tx, staff: Staff, slug: str, member_of: Collection[int]
    ) -> WorkgroupRow:
        wg = await self._workgroups.workgroup_by_slug(tx, slug)
        if wg is None or not access.can_work_in(staff, wg.id, member_of):
            raise NotFound(NO_SUCH_WORKGROUP)
        return wg

    async def _slugs(self, tx: Tx) -> dict[int, str]:
        return {w.id: w.slug for w in await self._workgroups.list_workgroups(tx)}

    def _hit(
        self,
        staff: Staff | None,
        s: Stored,
        slugs: dict[int, str],
        member_of: Collection[int],
        words: list[str] | None = None,
        rank: float = 0.0,
    ) -> Hit:
        editable = staff is not None and access.can_manage_workgroup_content(
            staff, s.article.workgroup_id, member_of
        )
        return Hit(
            s,
            slugs.get(s.article.workgroup_id, ""),
            policy.excerpt(s.plain, words or []),
            rank,
            editable,
        )

    # Staff ---------------------------------------------------------------------------------

    async def articles(
        self,
        principal: Principal,
        *,
        workgroup: str | None = None,
        query: str | None = None,
        category: str | None = None,
        visibility: Visibility | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[Hit]:
        """The articles the principal reads (``workgroup``: of that one), by category and title;
        with ``query``, those it finds, best first."""
        staff = require_role(principal, StaffRole.AGENT)
        words = _words(query) if query is not None else None
        async with self._db.read() as tx:
            ids, member_of = await self._staff_scope(tx, staff)
            if workgroup is not None:
                ids = [(await self._workgroup(tx, staff, workgroup, member_of)).id]
            slugs = await self._slugs(tx)
            if words is None:
                found = await self._kb.articles(
                    tx, ids, visibility=visibility, category=category, offset=offset, limit=limit
                )
                return [self._hit(staff, s, slugs, member_of) for s in found]
            ranked = await self._kb.search(
                tx, words, ids, visibility=visibility, prefix_last=True, limit=limit
            )
        return [
            self._hit(staff, f.stored, slugs, member_of, words, f.rank)
            for f in ranked
            if category is None or f.stored.article.category == category
        ]

    async def article(self, principal: Principal, article_id: int) -> Hit:
        staff = require_role(principal, StaffRole.AGENT)
        async with self._db.read() as tx:
            s, member_of = await self._readable(tx, staff, article_id)
            slugs = await self._slugs(tx)
        return self._hit(staff, s, slugs, member_of)

    async def _readable(
        self, tx: Tx, staff: Staff, article_id: int, *, edit: bool = False
    ) -> tuple[Stored, set[int]]:
        s = await self._kb.article(tx, article_id)
        member_of = set(await self._workgroups.readable_by(tx, staff.user_id))
        check = (
            access.require_workgroup_content_editor
            if edit
            else access.require_workgroup_content_reader
        )
        check(staff, None if s is None else s.article.workgroup_id, member_of, NO_SUCH_ARTICLE)
        assert s is not None
        return s, member_of

    async def create(
        self,
        principal: Principal,
        workgroup: str,
        title: str,
        body: str,
        category: str = "",
        visibility: Visibility = Visibility.INTERNAL,
    ) -> Hit:
        staff = require_role(principal, StaffRole.AGENT)
        now = self._clock.now()
        async with self._db.write() as tx:
            member_of = set(await self._workgroups.readable_by(tx, staff.user_id))
            wg = await self._workgroup(tx, staff, workgroup, member_of)
            access.require_workgroup_content_editor(staff, wg.id, member_of, NO_SUCH_WORKGROUP)
            a = policy.article(wg.id, title, body, category, visibility)
            if await self._kb.count(tx, wg.id) >= policy.MAX_ARTICLES:
                raise InvalidInput(f"at most {policy.MAX_ARTICLES} articles per workgroup")
            html, plain = markup.render(a.body), markup.plain(a.body)
            a = replace(a, id=await self._kb.insert(tx, a, html, plain, now))
            await self._audited(tx, staff, "kb.created", a)
        return self._hit(staff, Stored(a, html, plain, now, now), {wg.id: wg.slug}, member_of)

    async def update(
        self,
        principal: Principal,
        article_id: int,
        title: str,
        body: str,
        category: str = "",
        visibility: Visibility = Visibility.INTERNAL,
    ) -> Hit:
        staff = require_role(principal, StaffRole.AGENT)
        now = self._clock.now()
        async with self._db.write() as tx:
            old, member_of = await self._readable(tx, staff, article_id, edit=True)
            a = policy.article(
                old.article.workgroup_id, title, body, category, visibility, old.article.id
            )
            html, plain = markup.render(a.body), markup.plain(a.body)
            await self._kb.update(tx, a, html, plain, now)
            await self._audited(tx, staff, "kb.updated", a)
            slugs = await self._slugs(tx)
        stored = Stored(a, html, plain, old.created_at, now, old.answered)
        return self._hit(staff, stored, slugs, member_of)

    async def delete(self, principal: Principal, article_id: int) -> None:
        staff = require_role(principal, StaffRole.AGENT)
        async with self._db.write() as tx:
            old, _ = await self._readable(tx, staff, article_id, edit=True)
            await self._kb.delete(tx, old.article.id)
            await self._audited(tx, staff, "kb.deleted", old.article)

    async def _audited(self, tx: Tx, staff: Staff, action: str, a: Article) -> None:
        details = {
            "workgroup_id": a.workgroup_id,
            "title": a.title,
            "category": a.category,
            "visibility": a.visibility.value,
        }
        await self._audit.record(
            tx, self._clock.now(), actor_of(staff), action, f"article:{a.id}", details
        )

    async def suggestions(
        self, principal: Principal, conversation_id: str, limit: int = policy.SUGGESTIONS
    ) -> list[Hit]:
        """Articles of the chat's workgroup for what the customer asked and wrote last."""
        staff = require_role(principal, StaffRole.AGENT)
        async with self._db.read() as tx:
            conv = await readable(tx, self._workgroups, self._conversations, staff, conversation_id)
            if conv.kind is not Kind.CUSTOMER_CHAT or conv.workgroup_id is None:
                return []
            entries = await self._conversations.entries_after(
                tx, conv.id, max(0, conv.last_seq - SCAN_ENTRIES)
            )
            latest = [
                str(e.body.get("text", ""))
                for e in entries
                if e.author == VISITOR_KEY and e.kind is EntryKind.MESSAGE
            ]
            question = conv.metadata.get("question") if conv.metadata else None
            words = policy.suggestion_words(question if isinstance(question, str) else "", latest)
            ranked = await self._kb.search(tx, words, [conv.workgroup_id], limit=limit)
            member_of = set(await self._workgroups.readable_by(tx, staff.user_id))
            slugs = await self._slugs(tx)
        return [self._hit(staff, f.stored, slugs, member_of, words, f.rank) for f in ranked]

    # The widget (anyone) -------------------------------------------------------------------

    async def _public_workgroup(self, tx: Tx, slug: str) -> WorkgroupRow:
        wg = await self._workgroups.workgroup_by_slug(tx, slug)
        if wg is None:
            raise NotFound(NO_SUCH_WORKGROUP)
        return wg

    async def public_search(
        self, slug: str, query: str, limit: int = policy.SUGGESTIONS * 2
    ) -> list[Hit]:
        """The workgroup's public articles that ``query`` finds, best first."""
        words = _words(query)
        async with self._db.read() as tx:
            wg = await self._public_workgroup(tx, slug)
            ranked = await self._kb.search(
                tx,
                words,
                [wg.id],
                visibility=Visibility.PUBLIC,
                prefix_last=True,
                limit=min(limit, policy.MAX_RESULTS),
            )
        return [self._hit(None, f.stored, {wg.id: slug}, (), words, f.rank) for f in ranked]

    async def public_article(self, slug: str, article_id: int) -> Hit:
        async with self._db.read() as tx:
            wg = await self._public_workgroup(tx, slug)
            s = await self._public(tx, wg, article_id)
        return self._hit(None, s, {wg.id: slug}, ())

    async def _public(self, tx: Tx, wg: WorkgroupRow, article_id: int) -> Stored:
        s = await self._kb.article(tx, article_id)
        if s is None or not access.can_read_public_article(
            s.article.visibility.value, s.article.workgroup_id, wg.id
        ):
            raise NotFound(NO_SUCH_ARTICLE)
        return s

    async def answered(self, slug: str, article_id: int, visitor: Visitor | None) -> bool:
        """A visitor says the article answered their question: counted; a visitor still in
        the queue (``visitor``, their chat's token) leaves it, as by cancelling. Whether they
        left the queue."""
        async with self._db.write() as tx:
            wg = await self._public_workgroup(tx, slug)
            await self._public(tx, wg, article_id)
            await self._kb.answered(tx, article_id)
            queued = False
            if visitor is not None:
                conv = await self._conversations.conversation(tx, visitor.conversation_id)
                queued = (
                    conv is not None and conv.workgroup_id == wg.id and conv.status is Status.QUEUED
                )
        if queued:
            assert visitor is not None
            await self._chat.end(visitor, visitor.conversation_id)
        return queued


def _words(query: str) -> list[str]:
    if len(query) > policy.MAX_QUERY_CHARS:
        raise InvalidInput(f"a search is at most {policy.MAX_QUERY_CHARS} characters")
    return policy.query_words(query)
