"""QA review and secret shoppers (issue 11, "After the fact"): transcript search for
supervisors, scorecards (admins), reviews filled beside a transcript (supervisors), an agent's
own reviews, the QA report, and secret-shopper links with the shopper's checklist.

Who may do what (``domain.access``): admins define scorecards; a supervisor searches,
reviews, reports on and makes shopper links for the workgroups an admin made them supervise
(admins: every workgroup); another workgroup's chat, review or link reads exactly like one
that does not exist. An agent reads their own reviews, never a shopper's (nothing an agent is
shown says a chat was a shopper's). Every search, review, scorecard change and link is in the
audit log, written in the transaction that does it.

A shopper link is signed with a server key of its own (``shopper_link_key``, as visitor tokens
are with theirs) and names one row of ``shopper_links``: the row says whether it expired, was
used (it opens one chat: the row is marked in the transaction that opens it) or scored.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadData, URLSafeSerializer

from parley.clock import Clock
from parley.domain import access, qa
from parley.domain.access import Principal, Staff, StaffRole
from parley.domain.conversation import Conversation, Role, Status
from parley.domain.errors import Conflict, InvalidInput, NotFound
from parley.services.archive import ArchiveService
from parley.services.house_rules import actor_of
from parley.storage.archive import ArchiveQuery, Hit
from parley.storage.audit import AuditStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.qa import LinkRow, QaStore, ReviewRow
from parley.storage.staff import StaffStore
from parley.storage.supervision import SupervisionStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupStore

#: Reviews one page lists, at most; the deepest page.
MAX_REVIEWS_LIMIT = 200
MAX_REVIEWS_OFFSET = 10_000
#: The longest date range of a QA report.
MAX_REPORT_DAYS = 366
#: The most shopper links one list returns.
MAX_LINKS = 200
MAX_LINK_NOTE_CHARS = 200

NO_SUCH_REVIEW = access.NO_SUCH_REVIEW
NO_SUCH_SCORECARD = "no such scorecard"

#: What the console adds to a shopper link's token to open the demo site's widget with it.
SHOPPER_PATH = "/demo/"


@dataclasses.dataclass(frozen=True, slots=True)
class NewLink:
    row: LinkRow
    #: The signed token (shown once; the link is ``url``).
    token: str
    slug: str


@dataclasses.dataclass(frozen=True, slots=True)
class ShopperStatus:
    slug: str
    state: str  # unused used scored expired
    expires_at: datetime
    chat_ended: bool
    checklist: qa.Scorecard


def _staff(principal: Principal) -> Staff:
    return access.require_role(principal, StaffRole.AGENT)


class QaService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        archive: ArchiveService,
        staff: StaffStore,
        workgroups: WorkgroupStore,
        conversations: ConversationStore,
        supervision: SupervisionStore,
        qa: QaStore,
        audit: AuditStore,
    ) -> None:
        self._db = db
        self._clock = clock
        self._archive_service = archive
        self._staff = staff
        self._workgroups = workgroups
        self._conversations = conversations
        self._supervision = supervision
        self._qa = qa
        self._audit = audit
        self._signer: URLSafeSerializer | None = None

    async def start(self) -> None:
        async with self._db.write() as tx:
            key = await self._staff.server_key(tx, "shopper_link_key", secrets.token_urlsafe(32))
        self._signer = URLSafeSerializer(key, salt="parley.shopper")

    async def _record(
        self, tx: Tx, staff: Staff | None, action: str, subject: str, details: dict[str, Any]
    ) -> None:
        actor = "shopper" if staff is None else actor_of(staff)
        await self._audit.record(tx, self._clock.now(), actor, action, subject, details)

    async def _supervises(self, tx: Tx, staff: Staff) -> frozenset[int] | None:
        """None: every workgroup (admins)."""
        access.require_supervisor(staff)
        if staff.role is StaffRole.ADMIN:
            return None
        return frozenset(await self._supervision.supervised_by(tx, staff.user_id))

    async def _workgroup_ids(self, tx: Tx, slugs: list[str] | None) -> frozenset[int] | None:
        if slugs is None:
            return None
        ids = set()
        for slug in slugs:
            wg = await self._workgroups.workgroup_by_slug(tx, slug)
            if wg is None:
                raise NotFound(access.NO_SUCH_WORKGROUP)
            ids.add(wg.id)
        return frozenset(ids)

    # Search --------------------------------------------------------------------------------

    async def search(
        self, principal: Principal, query: ArchiveQuery, workgroups: list[str] | None = None
    ) -> list[Hit]:
        """The archive's search over the transcripts of the workgroups the principal
        supervises (``ArchiveService.transcripts``). A workgroup named that they do not
        supervise reads like one that does not exist."""
        staff = access.require_supervisor(principal)
        async with self._db.read() as tx:
            supervises = await self._supervises(tx, staff)
            named = await self._workgroup_ids(tx, workgroups)
        if named is not None:
            for wg_id in named:
                access.require_supervise(staff, wg_id, supervises or ())
        return await self._archive_service.transcripts(
            staff, dataclasses.replace(query, workgroup_ids=named), supervises
        )

    # Scorecards ----------------------------------------------------------------------------

    async def scorecards(self, principal: Principal) -> list[qa.Scorecard]:
        """Every scorecard (supervisors fill them; admins edit them)."""
        access.require_supervisor(principal)
        async with self._db.read() as tx:
            return await self._qa.scorecards(tx)

    async def create_scorecard(
        self,
        principal: Principal,
        name: str,
        purpose: qa.Purpose,
        categories: list[qa.Category],
        active: bool = True,
    ) -> qa.Scorecard:
        staff = access.require_role(principal, StaffRole.ADMIN)
        card = qa.new_scorecard(name, purpose, categories, active)
        async with self._db.write() as tx:
            if await self._qa.count_scorecards(tx) >= qa.MAX_SCORECARDS:
                raise Conflict(f"at most {qa.MAX_SCORECARDS} scorecards")
            card_id = await self._qa.insert_scorecard(tx, card, self._clock.now())
            await self._record(
                tx, staff, "qa.scorecard.created", f"scorecard:{card_id}", {"name": card.name}
            )
        return dataclasses.replace(card, id=card_id)

    async def update_scorecard(
        self,
        principal: Principal,
        scorecard_id: int,
        name: str,
        purpose: qa.Purpose,
        categories: list[qa.Category],
        active: bool = True,
    ) -> qa.Scorecard:
        """Reviews already filled keep the scorecard as it was."""
        staff = access.require_role(principal, StaffRole.ADMIN)
        card = qa.new_scorecard(name, purpose, categories, active)
        async with self._db.write() as tx:
            if not await self._qa.update_scorecard(tx, scorecard_id, card, self._clock.now()):
                raise NotFound(NO_SUCH_SCORECARD)
            await self._record(
                tx, staff, "qa.scorecard.updated", f"scorecard:{scorecard_id}", {"name": card.name}
            )
        return dataclasses.replace(card, id=scorecard_id)

    async def delete_scorecard(self, principal: Principal, scorecard_id: int) -> None:
        staff = access.require_role(principal, StaffRole.ADMIN)
        async with self._db.write() as tx:
            if not await self._qa.delete_scorecard(tx, scorecard_id):
                raise NotFound(NO_SUCH_SCORECARD)
            await self._record(tx, staff, "qa.scorecard.deleted", f"scorecard:{scorecard_id}", {})

    async def checklist(self, tx: Tx) -> qa.Scorecard:
        """The shopper's checklist: the newest active ``shopper`` scorecard, else the
        built-in one."""
        cards = [c for c in await self._qa.scorecards(tx, qa.Purpose.SHOPPER) if c.active]
        return cards[-1] if cards else qa.BUILT_IN_CHECKLIST

    # Reviews -------------------------------------------------------------------------------

    async def _reviewable(
        self, tx: Tx, staff: Staff, conversation_id: str
    ) -> tuple[Conversation, frozenset[int] | None]:
        supervises = await self._supervises(tx, staff)
        conv = await self._conversations.conversation(tx, conversation_id)
        access.require_reviewer(staff, conv, supervises or ())
        assert conv is not None
        return conv, supervises

    async def create_review(
        self,
        principal: Principal,
        conversation_id: str,
        scorecard_id: int,
        scores: Mapping[str, int],
        comments: Mapping[str, str],
        comment: str,
        agent_id: int | None = None,
    ) -> ReviewRow:
        """A supervisor's review of an ended chat of a workgroup they supervise, for one of
        its agents (``agent_id``; by default the last agent who wrote in it)."""
        staff = access.require_supervisor(principal)
        now = self._clock.now()
        async with self._db.write() as tx:
            conv, _ = await self._reviewable(tx, staff, conversation_id)
            if conv.status is not Status.ENDED:
                raise Conflict("review a chat once it has ended")
            card = await self._qa.scorecard(tx, scorecard_id)
            if card is None or card.purpose is not qa.Purpose.REVIEW:
                raise NotFound(NO_SUCH_SCORECARD)
            if not card.active:
                raise Conflict("this scorecard is not in use")
            agents = {p.user_id for p in conv.participants if p.role is Role.AGENT and p.user_id}
            if agent_id is None:
                agent_id = await self._qa.last_agent_writer(tx, conv.id)
            if agent_id is None and agents:
                agent_id = next(
                    p.user_id
                    for p in reversed(conv.participants)
                    if p.role is Role.AGENT and p.user_id
                )
            if agent_id is None:
                raise Conflict("no agent took part in this chat")
            if agent_id not in agents:
                raise InvalidInput("agent_id: not an agent of this chat")
            result = qa.score(card, scores)
            kept, text = qa.check_comments(card, comments, comment)
            assert conv.workgroup_id is not None
            review_id = await self._qa.insert_review(
                tx,
                conversation_id=conv.id,
                workgroup_id=conv.workgroup_id,
                agent_id=agent_id,
                reviewer_id=staff.user_id,
                card=card,
                scores=dict(scores),
                comments=kept,
                comment=text,
                result=result,
                shopper=False,
                now=now,
            )
            await self._record(
                tx,
                staff,
                "qa.review.created",
                f"review:{review_id}",
                {"conversation_id": conv.id, "agent_id": agent_id, "score": result.score},
            )
            row = await self._qa.review(tx, review_id)
        assert row is not None
        return row

    async def _own_review(self, tx: Tx, staff: Staff, review_id: int) -> ReviewRow:
        """A review a supervisor may change: of a workgroup they supervise, not a shopper's."""
        supervises = await self._supervises(tx, staff)
        row = await self._qa.review(tx, review_id)
        access.require_review_editor(
            staff,
            None if row is None else row.workgroup_id,
            row is not None and row.shopper,
            supervises or (),
        )
        assert row is not None
        return row

    async def update_review(
        self,
        principal: Principal,
        review_id: int,
        scores: Mapping[str, int],
        comments: Mapping[str, str],
        comment: str,
    ) -> ReviewRow:
        """Scored again on the scorecard as it was when first filled."""
        staff = access.require_supervisor(principal)
        async with self._db.write() as tx:
            row = await self._own_review(tx, staff, review_id)
            result = qa.score(row.card, scores)
            kept, text = qa.check_comments(row.card, comments, comment)
            await self._qa.update_review(
                tx,
                row,
                scores=dict(scores),
                comments=kept,
                comment=text,
                result=result,
                now=self._clock.now(),
            )
            await self._record(
                tx, staff, "qa.review.updated", f"review:{review_id}", {"score": result.score}
            )
            updated = await self._qa.review(tx, review_id)
        assert updated is not None
        return updated

    async def delete_review(self, principal: Principal, review_id: int) -> None:
        staff = access.require_supervisor(principal)
        async with self._db.write() as tx:
            await self._own_review(tx, staff, review_id)
            await self._qa.delete_review(tx, review_id)
            await self._record(tx, staff, "qa.review.deleted", f"review:{review_id}", {})

    async def chat_reviews(self, principal: Principal, conversation_id: str) -> list[ReviewRow]:
        """A chat's reviews, shoppers' included (supervisors of its workgroup)."""
        staff = access.require_supervisor(principal)
        async with self._db.read() as tx:
            conv, _ = await self._reviewable(tx, staff, conversation_id)
            return await self._qa.reviews_of_conversation(tx, conv.id)

    async def review(self, principal: Principal, review_id: int) -> ReviewRow:
        """One review: for a supervisor of its workgroup, or its agent (not a shopper's)."""
        staff = _staff(principal)
        async with self._db.read() as tx:
            row = await self._qa.review(tx, review_id)
            supervises: frozenset[int] | None = frozenset()
            if access.rank(staff.role) >= access.rank(StaffRole.SUPERVISOR):
                supervises = await self._supervises(tx, staff)
            if row is not None and access.can_read_review(
                staff, row.agent_id, row.workgroup_id, row.shopper, supervises or ()
            ):
                return row
        raise NotFound(NO_SUCH_REVIEW)

    async def my_reviews(
        self,
        principal: Principal,
        since: datetime | None,
        until: datetime | None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[ReviewRow]:
        """The caller's own reviews, newest first; shoppers' are never among them."""
        staff = _staff(principal)
        _page(offset, limit)
        async with self._db.read() as tx:
            return await self._qa.reviews(
                tx,
                workgroup_ids=None,
                agent_id=staff.user_id,
                since=since,
                until=until,
                shopper=False,
                offset=offset,
                limit=limit,
            )

    async def reviews(
        self,
        principal: Principal,
        *,
        workgroups: list[str] | None,
        agent_id: int | None,
        since: datetime | None,
        until: datetime | None,
        shopper: bool | None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[ReviewRow]:
        """The reviews of the workgroups the caller supervises, newest first."""
        staff = access.require_supervisor(principal)
        _page(offset, limit)
        async with self._db.read() as tx:
            ids = await self._scope(tx, staff, workgroups)
            if ids == frozenset():
                return []
            return await self._qa.reviews(
                tx,
                workgroup_ids=ids,
                agent_id=agent_id,
                since=since,
                until=until,
                shopper=shopper,
                offset=offset,
                limit=limit,
            )

    async def _scope(
        self, tx: Tx, staff: Staff, workgroups: list[str] | None
    ) -> frozenset[int] | None:
        supervises = await self._supervises(tx, staff)
        named = await self._workgroup_ids(tx, workgroups)
        if named is None:
            return supervises
        for wg_id in named:
            access.require_supervise(staff, wg_id, supervises or ())
        return named

    # The report ----------------------------------------------------------------------------

    async def report(
        self,
        principal: Principal,
        *,
        since: datetime,
        until: datetime,
        workgroups: list[str] | None = None,
        agent_id: int | None = None,
    ) -> qa.Report:
        """Per agent and per category over ``[since, until)`` (at most ``MAX_REPORT_DAYS``),
        the shoppers' scores apart: ``domain.qa.report``'s numbers, averaged by the database
        (``QaStore.report``), over every review in the range."""
        staff = access.require_supervisor(principal)
        if until <= since:
            raise InvalidInput("until must be after since")
        if until - since > timedelta(days=MAX_REPORT_DAYS):
            raise InvalidInput(f"a QA report covers at most {MAX_REPORT_DAYS} days")
        async with self._db.read() as tx:
            ids = await self._scope(tx, staff, workgroups)
            if ids == frozenset():
                return qa.report([])
            return await self._qa.report(
                tx, workgroup_ids=ids, agent_id=agent_id, since=since, until=until
            )

    # Secret shoppers -----------------------------------------------------------------------

    def _sign(self, link_id: str) -> str:
        assert self._signer is not None, "QaService.start() was not awaited"
        return str(self._signer.dumps({"l": link_id}))

    def _link_id(self, token: str) -> str:
        assert self._signer is not None, "QaService.start() was not awaited"
        try:
            payload = self._signer.loads(token)
        except BadData:
            raise qa.ShopperLinkInvalid("invalid shopper link") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("l"), str):
            raise qa.ShopperLinkInvalid("invalid shopper link")
        return str(payload["l"])

    async def create_link(
        self, principal: Principal, slug: str, hours: float | None, note: str = ""
    ) -> NewLink:
        """A one-time link for a workgroup the caller supervises, expiring after ``hours``
        (default 24, at most 168)."""
        staff = access.require_supervisor(principal)
        lifetime = qa.link_lifetime(hours)
        if len(note) > MAX_LINK_NOTE_CHARS:
            raise InvalidInput(f"the note is at most {MAX_LINK_NOTE_CHARS} characters")
        now = self._clock.now()
        link_id = secrets.token_hex(16)
        async with self._db.write() as tx:
            supervises = await self._supervises(tx, staff)
            wg = await self._workgroups.workgroup_by_slug(tx, slug)
            access.require_supervise(staff, None if wg is None else wg.id, supervises or ())
            assert wg is not None
            await self._qa.insert_link(
                tx, link_id, wg.id, staff.user_id, note.strip(), now, now + lifetime
            )
            await self._record(
                tx,
                staff,
                "qa.shopper_link.created",
                f"shopper_link:{link_id}",
                {"workgroup": slug, "expires_at": (now + lifetime).isoformat()},
            )
            row = await self._qa.link(tx, link_id)
        assert row is not None
        return NewLink(row, self._sign(link_id), wg.slug)

    async def links(self, principal: Principal) -> list[tuple[LinkRow, str]]:
        """The links of the workgroups the caller supervises, newest first, with their
        workgroup's slug (not their tokens: those are shown once)."""
        staff = access.require_supervisor(principal)
        async with self._db.read() as tx:
            supervises = await self._supervises(tx, staff)
            rows = await self._qa.links(tx, supervises, MAX_LINKS)
            slugs: dict[int, str] = {}
            for r in rows:
                if r.link.workgroup_id not in slugs:
                    wg = await self._workgroups.workgroup(tx, r.link.workgroup_id)
                    slugs[r.link.workgroup_id] = "" if wg is None else wg.slug
        return [(r, slugs[r.link.workgroup_id]) for r in rows]

    def shopper_opener(self, token: str) -> Callable[[Tx, Conversation], Awaitable[None]]:
        """For ``ChatService.open_chat``: checks the link's signature now (a forged one is
        refused before anything is read), and returns what runs in the transaction that opens
        the chat: the link must be of that workgroup, unused and unexpired; it is marked used
        and the chat flagged ``shopper`` (the flag only: nothing else of the chat differs)."""
        link_id = self._link_id(token)

        async def opened(tx: Tx, conv: Conversation) -> None:
            row = await self._qa.link(tx, link_id, lock=True)
            link = qa.check_link(None if row is None else row.link, self._clock.now())
            if link.workgroup_id != conv.workgroup_id:
                raise qa.ShopperLinkInvalid("invalid shopper link")
            if not await self._qa.use_link(tx, link.id, conv.id, self._clock.now()):
                raise qa.ShopperLinkUsed("this shopper link was used already")
            await self._qa.mark_shopper(tx, conv.id)
            await self._record(
                tx,
                None,
                "qa.shopper_link.used",
                f"shopper_link:{link.id}",
                {"conversation_id": conv.id},
            )

        return opened

    async def shopper_status(self, token: str) -> ShopperStatus:
        """What the shopper's page shows: the link's state, whether its chat ended, and the
        checklist."""
        link_id = self._link_id(token)
        async with self._db.read() as tx:
            row = await self._qa.link(tx, link_id)
            if row is None:
                raise qa.ShopperLinkInvalid("invalid shopper link")
            link = row.link
            wg = await self._workgroups.workgroup(tx, link.workgroup_id)
            ended = False
            if link.conversation_id is not None:
                ended_at = await self._conversations.conversation_ended_at(tx, link.conversation_id)
                ended = ended_at is not None
            checklist = await self.checklist(tx)
        if link.scored_at is not None:
            state = "scored"
        elif link.used_at is not None:
            state = "used"
        elif self._clock.now() >= link.expires_at:
            state = "expired"
        else:
            state = "unused"
        return ShopperStatus(
            "" if wg is None else wg.slug, state, link.expires_at, ended, checklist
        )

    async def shopper_score(self, token: str, scores: Mapping[str, int], comment: str) -> ReviewRow:
        """The shopper scores their ended chat on the checklist, once: the score is a review
        marked ``shopper`` (for the chat's last agent who wrote), counted in the QA report."""
        link_id = self._link_id(token)
        now = self._clock.now()
        async with self._db.write() as tx:
            row = await self._qa.link(tx, link_id, lock=True)
            conv = None
            if row is not None and row.link.conversation_id is not None:
                conv = await self._conversations.conversation(tx, row.link.conversation_id)
            link = qa.check_scorable(
                None if row is None else row.link, conv is not None and conv.status is Status.ENDED
            )
            assert conv is not None and conv.workgroup_id is not None
            card = await self.checklist(tx)
            result = qa.score(card, scores)
            _, text = qa.check_comments(card, {}, comment)
            agent_id = await self._qa.last_agent_writer(tx, conv.id)
            if agent_id is None:
                # Nobody wrote: the last agent who took part, if any (else nobody's).
                agent_id = next(
                    (
                        p.user_id
                        for p in reversed(conv.participants)
                        if p.role is Role.AGENT and p.user_id
                    ),
                    None,
                )
            if not await self._qa.mark_scored(tx, link.id, now):
                raise qa.ShopperLinkUsed("this shopper chat was scored already")
            review_id = await self._qa.insert_review(
                tx,
                conversation_id=conv.id,
                workgroup_id=conv.workgroup_id,
                agent_id=agent_id,
                reviewer_id=None,
                card=card,
                scores=dict(scores),
                comments={},
                comment=text,
                result=result,
                shopper=True,
                now=now,
            )
            await self._record(
                tx,
                None,
                "qa.shopper.scored",
                f"review:{review_id}",
                {"conversation_id": conv.id, "score": result.score},
            )
            stored = await self._qa.review(tx, review_id)
        assert stored is not None
        return stored


def _page(offset: int, limit: int) -> None:
    if not 1 <= limit <= MAX_REVIEWS_LIMIT:
        raise InvalidInput(f"limit is 1 to {MAX_REVIEWS_LIMIT}")
    if not 0 <= offset <= MAX_REVIEWS_OFFSET:
        raise InvalidInput(f"offset is 0 to {MAX_REVIEWS_OFFSET}")


def report_csv(report: qa.Report) -> str:
    """The report as CSV: one row per agent, then one per category (``section`` says which).
    Names are written as they are; a cell that a spreadsheet would read as a formula is
    prefixed with an apostrophe."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["section", "agent_id", "name", "shopper", "reviews", "score"])
    for a in report.agents:
        w.writerow(
            [
                "agent",
                a.agent_id or "",
                _cell(a.agent_name),
                "false",
                a.reviews.reviews,
                a.reviews.score,
            ]
        )
        if a.shoppers is not None:
            w.writerow(
                [
                    "agent",
                    a.agent_id or "",
                    _cell(a.agent_name),
                    "true",
                    a.shoppers.reviews,
                    a.shoppers.score,
                ]
            )
    for c in report.categories:
        w.writerow(
            [
                "category",
                "",
                _cell(f"{c.key}: {c.name}"),
                str(c.shopper).lower(),
                c.reviews,
                c.percent,
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
