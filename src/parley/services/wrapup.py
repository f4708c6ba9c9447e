"""After the fact (issue 11): the customer rates an ended chat; its staff record or change its
outcome at wrap-up (even once the customer ended it) and tag it from the list an admin keeps;
past chats and the follow-up list show both.

Every permission goes through ``parley.domain.access`` (``require_rater``, ``rating_scope``,
``require_wrap_up``, ``require_outcome_setter``, ``require_tag_*``); the rules on values are in
``parley.domain.wrapup``. Nothing here is pushed over the socket: the console reads it when it
shows a chat's wrap-up, past chats or ratings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from parley.clock import Clock
from parley.domain import access
from parley.domain import wrapup as policy
from parley.domain.access import Principal, RatingScope, Staff, StaffRole
from parley.domain.conversation import Conversation
from parley.domain.errors import Conflict, NotFound
from parley.services.conversations import member_of
from parley.services.house_rules import actor_of
from parley.storage.audit import AuditStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.supervision import SupervisionStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupStore
from parley.storage.wrapup import RatingRow, TagRow, WrapUp, WrapUpStore

NO_SUCH_TAG = "no such tag"
NO_SUCH_WORKGROUP = "no such workgroup"


@dataclass(frozen=True, slots=True)
class RatingStatus:
    """What the widget needs after "Chat ended": whether to ask, and the rating if given."""

    wanted: bool
    rating: policy.Rating | None


class WrapUpService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        wrapup: WrapUpStore,
        conversations: ConversationStore,
        workgroups: WorkgroupStore,
        supervision: SupervisionStore,
        audit: AuditStore,
    ) -> None:
        self._db = db
        self._clock = clock
        self._wrapup = wrapup
        self._conversations = conversations
        self._workgroups = workgroups
        self._supervision = supervision
        self._audit = audit

    async def _supervises(self, tx: Tx, principal: Principal) -> frozenset[int]:
        if not isinstance(principal, Staff) or principal.role is not StaffRole.SUPERVISOR:
            return frozenset()
        return frozenset(await self._supervision.supervised_by(tx, principal.user_id))

    async def _wants_ratings(self, tx: Tx, workgroup_id: int | None) -> bool:
        if workgroup_id is None:
            return False
        return (await self._supervision.settings(tx, workgroup_id)).ratings

    # Ratings: the customer ---------------------------------------------------------------------

    async def rating_status(self, principal: Principal, conversation_id: str) -> RatingStatus:
        """For the chat's visitor: whether the widget asks for a rating (the workgroup wants
        them and none was given yet), and the rating given."""
        async with self._db.read() as tx:
            conv = await self._conversations.conversation(tx, conversation_id)
            access.require_rating_reader(principal, conv)
            assert conv is not None
            given = await self._wrapup.rating(tx, conv.id)
            wanted = (
                given is None
                and access.answered(conv)
                and await self._wants_ratings(tx, conv.workgroup_id)
            )
        return RatingStatus(wanted=wanted, rating=given)

    async def rate(
        self, principal: Principal, conversation_id: str, score: int, comment: str
    ) -> policy.Rating:
        """The chat's visitor rates it once it ended; the first rating stands (a second is
        ``Conflict``). It goes to the last staff member who wrote a public message."""
        now = self._clock.now()
        async with self._db.write() as tx:
            conv = await self._conversations.conversation(tx, conversation_id, lock=True)
            access.require_rater(principal, conv)
            assert conv is not None
            if not await self._wants_ratings(tx, conv.workgroup_id):
                raise Conflict("this chat's workgroup does not ask for ratings")
            if await self._wrapup.rating(tx, conv.id) is not None:
                raise Conflict("this chat was rated already")
            agent = policy.rated_agent(await self._wrapup.last_staff_author(tx, conv.id))
            rating = policy.rating(conv.id, score, comment, agent, conv.workgroup_id, now)
            try:
                await self._wrapup.insert_rating(tx, rating)
            except IntegrityError:
                raise Conflict("this chat was rated already") from None
        return rating

    # Ratings: staff ----------------------------------------------------------------------------

    async def ratings(
        self,
        principal: Principal,
        *,
        mine: bool = False,
        workgroup: str | None = None,
        agent: int | None = None,
        before: datetime | None = None,
        limit: int = 50,
    ) -> tuple[RatingScope, list[RatingRow]]:
        """The ratings the principal reads (``access.rating_scope``), newest first."""
        async with self._db.read() as tx:
            scope = access.rating_scope(principal, await self._supervises(tx, principal))
            workgroup_id = None
            if workgroup is not None:
                wg = await self._workgroups.workgroup_by_slug(tx, workgroup)
                if wg is None:
                    raise NotFound(NO_SUCH_WORKGROUP)
                workgroup_id = wg.id
            rows = await self._wrapup.ratings(
                tx,
                scope,
                mine=mine,
                workgroup_id=workgroup_id,
                agent_id=agent,
                before=before,
                limit=limit,
            )
        return scope, rows

    # Outcomes and tags on a chat --------------------------------------------------------------

    async def _for_wrap_up(
        self,
        tx: Tx,
        principal: Principal,
        conversation_id: str,
        *,
        outcome: bool = False,
        lock: bool = True,
    ) -> tuple[Staff, Conversation]:
        conv = await self._conversations.conversation(tx, conversation_id, lock=lock)
        if conv is None:
            access.require_read(principal, None)
        assert conv is not None
        mine = await member_of(tx, self._workgroups, principal, conv)
        supervises = await self._supervises(tx, principal)
        check = access.require_outcome_setter if outcome else access.require_wrap_up
        return check(principal, conv, mine, supervises), conv

    async def wrap_up(self, principal: Principal, conversation_id: str) -> WrapUp:
        async with self._db.read() as tx:
            _, conv = await self._for_wrap_up(tx, principal, conversation_id, lock=False)
            return (await self._wrapup.wrap_ups(tx, [conv.id]))[conv.id]

    async def set_outcome(self, principal: Principal, conversation_id: str, outcome: str) -> WrapUp:
        """Set or change the outcome of an ended chat the principal took part in (or whose
        workgroup they supervise), recording who did it and when."""
        value = policy.outcome(outcome)
        now = self._clock.now()
        async with self._db.write() as tx:
            staff, conv = await self._for_wrap_up(tx, principal, conversation_id, outcome=True)
            await self._conversations.set_outcome(tx, conv.id, value, staff.user_id, now)
            return (await self._wrapup.wrap_ups(tx, [conv.id]))[conv.id]

    async def add_tag(self, principal: Principal, conversation_id: str, tag_id: int) -> WrapUp:
        """Put a tag on the chat (again: no change); at most ``MAX_TAGS_PER_CHAT``."""
        now = self._clock.now()
        async with self._db.write() as tx:
            staff, conv = await self._for_wrap_up(tx, principal, conversation_id)
            if await self._wrapup.tag(tx, tag_id) is None:
                raise NotFound(NO_SUCH_TAG)
            if not await self._wrapup.has_tag(tx, conv.id, tag_id):
                if await self._wrapup.tag_count_of(tx, conv.id) >= policy.MAX_TAGS_PER_CHAT:
                    raise Conflict(f"a chat carries at most {policy.MAX_TAGS_PER_CHAT} tags")
                await self._wrapup.add_tag(tx, conv.id, tag_id, staff.user_id, now)
            return (await self._wrapup.wrap_ups(tx, [conv.id]))[conv.id]

    async def remove_tag(self, principal: Principal, conversation_id: str, tag_id: int) -> WrapUp:
        """Take a tag off the chat (one it does not carry: no change)."""
        async with self._db.write() as tx:
            _, conv = await self._for_wrap_up(tx, principal, conversation_id)
            await self._wrapup.remove_tag(tx, conv.id, tag_id)
            return (await self._wrapup.wrap_ups(tx, [conv.id]))[conv.id]

    # Past chats and the follow-up list ------------------------------------------------------

    async def past_chats(
        self,
        staff: Staff,
        *,
        search: str | None = None,
        everyone: bool = False,
        outcome: str | None = None,
        tag_id: int | None = None,
        follow_ups: bool = False,
        before: datetime | None = None,
        limit: int = 50,
    ) -> list[tuple[Conversation, WrapUp]]:
        """The staff member's customer chats (supervisors may ask for everyone's), newest
        first, with outcome and tags; ``follow_ups``: those that need a follow-up, the oldest
        end first."""
        access.require_role(staff, StaffRole.AGENT)
        if everyone:
            access.require_role(staff, StaffRole.SUPERVISOR)
        if outcome is not None:
            outcome = policy.outcome(outcome)
        if follow_ups:
            outcome = policy.FOLLOW_UP
        async with self._db.read() as tx:
            # A supervisor's "everyone": the chats of the workgroups they read (access.can_read).
            mine: list[int] | None = None
            if everyone and staff.role is not StaffRole.ADMIN:
                mine = await self._workgroups.readable_by(tx, staff.user_id)
            convs = await self._conversations.conversations_of(
                tx,
                None if everyone else staff.user_id,
                search=search,
                limit=limit,
                before=None if follow_ups else before,
                outcome=outcome,
                tag_id=tag_id,
                oldest_ended_first=follow_ups,
                workgroups=mine,
            )
            convs = [c for c in convs if access.can_read(staff, c, mine or ())]
            found = await self._wrapup.wrap_ups(tx, [c.id for c in convs])
        empty = WrapUp(None, None, None, ())
        return [(c, found.get(c.id, empty)) for c in convs]

    # The admin's list of tags -----------------------------------------------------------------

    async def tags(self, principal: Principal) -> list[TagRow]:
        access.require_tag_reader(principal)
        async with self._db.read() as tx:
            return await self._wrapup.tags(tx)

    async def create_tag(self, principal: Principal, name: str) -> TagRow:
        admin = access.require_tag_editor(principal)
        name = policy.tag_name(name)
        now = self._clock.now()
        async with self._db.write() as tx:
            if await self._wrapup.tag_named(tx, name) is not None:
                raise Conflict(f"there is a tag {name!r} already")
            if await self._wrapup.tag_count(tx) >= policy.MAX_TAGS:
                raise Conflict(f"at most {policy.MAX_TAGS} tags")
            try:
                tag = await self._wrapup.create_tag(tx, name, now)
            except IntegrityError:
                raise Conflict(f"there is a tag {name!r} already") from None
            await self._audit.record(
                tx, now, actor_of(admin), "tag.created", f"tag:{tag.id}", {"name": name}
            )
        return tag

    async def rename_tag(self, principal: Principal, tag_id: int, name: str) -> TagRow:
        admin = access.require_tag_editor(principal)
        name = policy.tag_name(name)
        now = self._clock.now()
        async with self._db.write() as tx:
            tag = await self._wrapup.tag(tx, tag_id)
            if tag is None:
                raise NotFound(NO_SUCH_TAG)
            other = await self._wrapup.tag_named(tx, name)
            if other is not None and other.id != tag_id:
                raise Conflict(f"there is a tag {name!r} already")
            await self._wrapup.rename_tag(tx, tag_id, name)
            await self._audit.record(
                tx,
                now,
                actor_of(admin),
                "tag.renamed",
                f"tag:{tag_id}",
                {"from": tag.name, "to": name},
            )
        return TagRow(tag_id, name, tag.created_at)

    async def delete_tag(self, principal: Principal, tag_id: int) -> None:
        """Delete a tag, and take it off every chat."""
        admin = access.require_tag_editor(principal)
        now = self._clock.now()
        async with self._db.write() as tx:
            tag = await self._wrapup.tag(tx, tag_id)
            if tag is None:
                raise NotFound(NO_SUCH_TAG)
            await self._wrapup.delete_tag(tx, tag_id)
            await self._audit.record(
                tx, now, actor_of(admin), "tag.deleted", f"tag:{tag_id}", {"name": tag.name}
            )
