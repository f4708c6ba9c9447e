"""Supervisors, live: who supervises what, the wallboard settings, silent monitoring, whispers,
barging in and taking over (``docs/protocol.md``, "Supervisors").

Every permission is asked of ``parley.domain.access`` (``require_supervise``,
``require_monitor``, ``require_coach``, ``require_barge``, ``require_take_over``) with the
workgroups the principal supervises, read in the same transaction: a chat of a workgroup the
principal does not supervise reads exactly like one that does not exist. Each use case loads
under lock, calls the domain, writes its audit row in the same transaction, commits, and only
then publishes.

Monitoring changes nothing in the conversation: a ``monitors`` row per watching socket (so that
a send from it is refused with ``monitor_read_only`` on every node, and the chat's agents can be
told who is watching when the workgroup shows it), and the socket follows the chat through the
hub. A whisper is a private note marked as coaching (``conversation.post_whisper``): every path
that keeps notes from the visitor keeps it too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError

from parley.clock import Clock
from parley.domain import access, wallboard
from parley.domain import conversation as conv_policy
from parley.domain.access import Principal, Staff, StaffRole
from parley.domain.conversation import Conversation, Participant, Role
from parley.domain.errors import Conflict, InvalidInput, NotFound
from parley.domain.wordfilter import Outcome as FilterOutcome
from parley.domain.wordfilter import Scope as FilterScope
from parley.protocol import EntryOut, WatcherOut, WatchingMessage
from parley.realtime.bus import Bus
from parley.realtime.notifications import Appended, Follow, Kick, Notification, ToConversation
from parley.services.house_rules import AuditRecord, HouseRulesService, audit_record, refusal
from parley.storage.agents import AgentStore
from parley.storage.audit import AuditStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.requests import RequestStore, RoutingEventRow
from parley.storage.staff import StaffStore
from parley.storage.supervision import SupervisionStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupRow, WorkgroupStore

#: The most supervisors one workgroup may have.
MAX_SUPERVISORS = 200
#: The most chats one socket watches at once.
MAX_WATCHED_PER_SOCKET = 20


def actor(staff: Staff) -> str:
    return f"staff:{staff.user_id}"


class SupervisionService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        *,
        max_message_chars: int,
        staff: StaffStore,
        workgroups: WorkgroupStore,
        conversations: ConversationStore,
        requests: RequestStore,
        agents: AgentStore,
        supervision: SupervisionStore,
        audit: AuditStore,
        house_rules: HouseRulesService | None = None,
    ) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock
        self._max_chars = max_message_chars
        self._staff = staff
        self._workgroups = workgroups
        self._conversations = conversations
        self._requests = requests
        self._agents = agents
        self._supervision = supervision
        self._audit = audit
        self._house_rules = house_rules
        #: This node's sockets that watch chats: connection id -> conversation ids.
        self._watching: defaultdict[str, set[str]] = defaultdict(set)

    async def supervises(self, tx: Tx, principal: Principal) -> frozenset[int]:
        """The workgroups an admin made this principal supervise (admins: see ``access``)."""
        if not isinstance(principal, Staff) or principal.role is not StaffRole.SUPERVISOR:
            return frozenset()
        return frozenset(await self._supervision.supervised_by(tx, principal.user_id))

    # Admins: who supervises, and the settings --------------------------------------------------

    async def _workgroup(self, tx: Tx, slug: str) -> WorkgroupRow:
        wg = await self._workgroups.workgroup_by_slug(tx, slug)
        if wg is None:
            raise NotFound(access.NO_SUCH_WORKGROUP)
        return wg

    async def supervisors(self, principal: Principal, slug: str) -> list[str]:
        access.require_role(principal, StaffRole.ADMIN)
        async with self._db.read() as tx:
            wg = await self._workgroup(tx, slug)
            ids = await self._supervision.supervisors(tx, wg.id)
            return sorted(u.username for u in await self._staff.list_users(tx) if u.id in ids)

    async def set_supervisors(
        self, principal: Principal, slug: str, usernames: Iterable[str]
    ) -> list[str]:
        """Who supervises the workgroup: active supervisors only (admins see everything
        anyway; agents are made supervisors first)."""
        admin = access.require_role(principal, StaffRole.ADMIN)
        names = sorted(set(usernames))
        if len(names) > MAX_SUPERVISORS:
            raise InvalidInput(f"a workgroup has at most {MAX_SUPERVISORS} supervisors")
        async with self._db.write() as tx:
            wg = await self._workgroup(tx, slug)
            ids = []
            for name in names:
                user = await self._staff.user_by_username(tx, name)
                if user is None or not user.active:
                    raise NotFound(f"no user {name!r}")
                if user.role is not StaffRole.SUPERVISOR:
                    raise InvalidInput(
                        f"{name!r} is not a supervisor (admins supervise every workgroup)"
                    )
                ids.append(user.id)
            before = await self._supervision.supervisors(tx, wg.id)
            await self._supervision.set_supervisors(tx, wg.id, ids)
            await self._audit.record(
                tx,
                self._clock.now(),
                actor(admin),
                "supervision.supervisors_set",
                f"workgroup:{wg.id}",
                {"before": before, "after": sorted(ids)},
            )
        # Wallboards check who may see this workgroup again (services.wallboard).
        await self._bus.publish([Kick(workgroup_id=wg.id)])
        return names

    async def settings(self, principal: Principal, slug: str) -> wallboard.Settings:
        async with self._db.read() as tx:
            wg = await self._workgroups.workgroup_by_slug(tx, slug)
            access.require_supervise(
                principal, None if wg is None else wg.id, await self.supervises(tx, principal)
            )
            assert wg is not None
            return await self._supervision.settings(tx, wg.id)

    async def set_settings(
        self, principal: Principal, slug: str, settings: wallboard.Settings
    ) -> wallboard.Settings:
        admin = access.require_role(principal, StaffRole.ADMIN)
        settings.validate()
        now = self._clock.now()
        async with self._db.write() as tx:
            wg = await self._workgroup(tx, slug)
            await self._supervision.save_settings(tx, wg.id, settings, now)
            await self._audit.record(
                tx,
                now,
                actor(admin),
                "supervision.settings_set",
                f"workgroup:{wg.id}",
                {
                    "sl_target_secs": settings.sl_target_secs,
                    "sl_goal_percent": settings.sl_goal_percent,
                    "show_monitoring": settings.show_monitoring,
                    "ratings": settings.ratings,
                },
            )
        await self._bus.publish([Kick(workgroup_id=wg.id)])
        return settings

    async def my_workgroups(
        self, principal: Principal
    ) -> list[tuple[WorkgroupRow, wallboard.Settings]]:
        """The workgroups whose wallboard the principal sees, with their settings."""
        async with self._db.read() as tx:
            every = await self._workgroups.list_workgroups(tx)
            mine = access.supervised(
                principal, await self.supervises(tx, principal), [w.id for w in every]
            )
            return [(w, await self._supervision.settings(tx, w.id)) for w in every if w.id in mine]

    # Watching --------------------------------------------------------------------------------

    async def monitor(self, principal: Principal, connection_id: str, conversation_id: str) -> None:
        """Start watching a chat from one socket (the caller then follows it in the hub).
        Written to the audit log; the chat's agents are told if the workgroup shows it."""
        now = self._clock.now()
        mine = self._watching.get(connection_id, set())
        if conversation_id not in mine and len(mine) >= MAX_WATCHED_PER_SOCKET:
            raise Conflict(
                f"a connection watches at most {MAX_WATCHED_PER_SOCKET} chats: stop watching one"
            )
        try:
            async with self._db.write() as tx:
                conv = await self._conversations.conversation(tx, conversation_id)
                staff = access.require_monitor(
                    principal, conv, await self.supervises(tx, principal)
                )
                assert conv is not None and conv.workgroup_id is not None
                fresh = await self._supervision.start_monitor(
                    tx, conv.id, staff.user_id, connection_id, now
                )
                if fresh:
                    await self._audit.record(
                        tx,
                        now,
                        actor(staff),
                        "supervision.monitor",
                        conv.id,
                        {"workgroup_id": conv.workgroup_id},
                    )
                notes = await self._watchers_note(tx, conv) if fresh else []
        except IntegrityError:
            # The socket's ``connections`` row is gone (its node was taken for dead).
            raise Conflict("this connection is not registered any more; reconnect") from None
        self._watching[connection_id].add(conv.id)
        await self._bus.publish(notes)

    async def unmonitor(
        self, principal: Principal, connection_id: str, conversation_id: str
    ) -> bool:
        """Stop watching a chat from one socket. Returns whether the socket should stop
        following it (not when its user takes part in it now: they barged in)."""
        staff = access.require_supervisor(principal)
        async with self._db.write() as tx:
            stopped = await self._supervision.stop_monitor(tx, connection_id, conversation_id)
            conv = await self._conversations.conversation(tx, conversation_id)
            notes = [] if conv is None or not stopped else await self._watchers_note(tx, conv)
        self._forget(connection_id, conversation_id)
        await self._bus.publish(notes)
        return conv is None or not access.is_member(staff, conv)

    def watching(self, connection_id: str, conversation_id: str) -> bool:
        """Whether this node's socket watches the chat (it then follows it read-only)."""
        return conversation_id in self._watching.get(connection_id, ())

    async def detach(self, connection_id: str) -> None:
        """A socket closed: it watches nothing any more."""
        if connection_id not in self._watching:
            return
        notes: list[Notification] = []
        async with self._db.write() as tx:
            for cid in await self._supervision.stop_monitors_of(tx, connection_id):
                conv = await self._conversations.conversation(tx, cid)
                if conv is not None:
                    notes += await self._watchers_note(tx, conv)
        self._watching.pop(connection_id, None)
        await self._bus.publish(notes)

    def _forget(self, connection_id: str, conversation_id: str) -> None:
        mine = self._watching.get(connection_id)
        if mine is not None:
            mine.discard(conversation_id)
            if not mine:
                del self._watching[connection_id]

    async def _watchers_note(self, tx: Tx, conv: Conversation) -> list[Notification]:
        """Who watches the chat now, for its staff, if its workgroup shows it; else nothing
        (nobody is told). Never for the visitor (``audience="staff"``)."""
        if conv.workgroup_id is None or conv.status is conv_policy.Status.ENDED:
            return []
        settings = await self._supervision.settings(tx, conv.workgroup_id)
        if not settings.show_monitoring:
            return []
        return [await self._watching_message(tx, conv.id, staff_only=True)]

    async def _watching_message(self, tx: Tx, cid: str, *, staff_only: bool) -> ToConversation:
        watchers = await self._supervision.watchers(tx, cid)
        message = WatchingMessage(
            conversation_id=cid,
            watchers=[WatcherOut(user_id=w.user_id, name=w.name) for w in watchers],
        )
        return ToConversation(
            conversation_id=cid, message=message.model_dump(mode="json"), audience="staff"
        )

    async def watching_snapshot(self, principal: Principal) -> list[WatchingMessage]:
        """On (re)connect, for a staff member: who watches their live chats (in workgroups
        that show it)."""
        if not isinstance(principal, Staff):
            return []
        async with self._db.read() as tx:
            out = []
            for cid in await self._supervision.watched_chats_of(tx, principal.user_id):
                watchers = await self._supervision.watchers(tx, cid)
                out.append(
                    WatchingMessage(
                        conversation_id=cid,
                        watchers=[WatcherOut(user_id=w.user_id, name=w.name) for w in watchers],
                    )
                )
            return out

    # Whisper, barge in, take over --------------------------------------------------------------

    async def whisper(
        self,
        principal: Principal,
        conversation_id: str,
        client_id: str,
        text: str,
        *,
        confirm: bool = False,
    ) -> EntryOut:
        """Coach the chat's agents: a note only staff see, marked as coaching. A repeated
        client id answers with the entry stored first. Blocked words apply as to a private
        note (scope ``staff_im``)."""
        conv_policy.validate_text(text, self._max_chars)
        conv_policy.validate_client_id(client_id)
        record: AuditRecord | None = None
        if self._house_rules is not None:
            verdict = await self._house_rules.check(text, FilterScope.STAFF_IM, confirmed=confirm)
            record = audit_record(principal, conversation_id, FilterScope.STAFF_IM, text, verdict)
            if verdict.outcome is FilterOutcome.REFUSED:
                assert record is not None
                await self._house_rules.record_refusal(record)
                raise refusal(verdict)
            if verdict.outcome is FilterOutcome.WARN:
                raise refusal(verdict)
            assert verdict.text is not None
            text = verdict.text
        now = self._clock.now()
        try:
            async with self._db.write() as tx:
                conv = await self._conversations.conversation(tx, conversation_id, lock=True)
                staff = access.require_coach(principal, conv, await self.supervises(tx, principal))
                assert conv is not None
                existing = await self._conversations.entry_by_client_id(
                    tx, conv.id, staff.key, client_id
                )
                if existing is not None:
                    return EntryOut.of(existing)
                conv, entry = conv_policy.post_whisper(
                    conv, staff.key, staff.display_name, text, client_id, now, self._max_chars
                )
                await self._conversations.set_last_seq(tx, conv.id, conv.last_seq)
                await self._conversations.insert_entries(tx, conv.id, [entry])
                await self._audit.record(
                    tx,
                    now,
                    actor(staff),
                    "supervision.whisper",
                    conv.id,
                    {"workgroup_id": conv.workgroup_id, "seq": entry.seq},
                )
                if record is not None and self._house_rules is not None:
                    await self._house_rules.record(tx, record)
        except IntegrityError:
            async with self._db.read() as tx:
                found = await self._conversations.entry_by_client_id(
                    tx, conversation_id, principal.key, client_id
                )
            if found is None:
                raise
            return EntryOut.of(found)
        out = EntryOut.of(entry)
        await self._bus.publish([Appended(conversation_id=conv.id, entries=[out])])
        if record is not None and self._house_rules is not None:
            await self._house_rules.notify(record)
        return out

    async def barge(self, principal: Principal, conversation_id: str) -> None:
        """Join a watched chat as a participant (a helper: the chat stays its agent's, and
        does not count against anyone's capacity). The customer sees who joined."""
        now = self._clock.now()
        async with self._db.write() as tx:
            conv = await self._conversations.conversation(tx, conversation_id, lock=True)
            staff = access.require_barge(principal, conv, await self.supervises(tx, principal))
            assert conv is not None
            me = Participant(staff.key, Role.HELPER, staff.display_name, now, staff.user_id)
            conv, joined = conv_policy.join(conv, me, now)
            await self._conversations.save_conversation(tx, conv)
            await self._conversations.insert_entries(tx, conv.id, [joined])
            await self._requests.record_event(
                tx,
                RoutingEventRow(
                    conv.id,
                    "barged_in",
                    now,
                    actor_id=staff.user_id,
                    agent_id=staff.user_id,
                    from_workgroup_id=conv.workgroup_id,
                ),
            )
            await self._audit.record(
                tx,
                now,
                actor(staff),
                "supervision.barge",
                conv.id,
                {"workgroup_id": conv.workgroup_id, "seq": joined.seq},
            )
        assert conv.workgroup_id is not None
        await self._bus.publish(
            [
                Appended(conversation_id=conv.id, entries=[EntryOut.of(joined)]),
                Follow(user_id=staff.user_id, conversation_id=conv.id),
                Kick(workgroup_id=conv.workgroup_id),
            ]
        )

    async def take_over(self, principal: Principal, conversation_id: str) -> None:
        """Take a chat over: its agents leave (``taken_over``), the supervisor becomes its
        agent and the one its request names (the customer's last agent next time). Lock
        order as everywhere: workgroup, agent, conversation."""
        now = self._clock.now()
        notes: list[Notification] = []
        async with self._db.write() as tx:
            supervises = await self.supervises(tx, principal)
            peek = await self._conversations.conversation(tx, conversation_id)
            staff = access.require_take_over(principal, peek, supervises)
            assert peek is not None and peek.workgroup_id is not None
            await self._workgroups.workgroup(tx, peek.workgroup_id, lock=True)
            await self._agents.agent(tx, staff.user_id, lock=True)
            conv = await self._conversations.conversation(tx, conversation_id, lock=True)
            access.require_take_over(principal, conv, supervises)
            assert conv is not None and conv.workgroup_id is not None
            state = await self._requests.request_state(tx, conv.id)
            if state is not None and state.status == "waiting":
                raise Conflict("a transfer of this chat is under way: wait for it, or call it off")
            me = Participant(staff.key, Role.AGENT, staff.display_name, now, staff.user_id)
            conv, entries, left = conv_policy.take_over(conv, me, now)
            await self._conversations.save_conversation(tx, conv)
            await self._conversations.insert_entries(tx, conv.id, entries)
            await self._supervision.set_request_agent(tx, conv.id, staff.user_id)
            for agent_id in left:
                # A slot freed: their workgroups may have someone for them.
                await self._agents.set_idle_since(tx, agent_id, now)
                notes += [
                    Kick(workgroup_id=w) for w in await self._workgroups.workgroups_of(tx, agent_id)
                ]
            await self._requests.record_event(
                tx,
                RoutingEventRow(
                    conv.id,
                    "taken_over",
                    now,
                    actor_id=staff.user_id,
                    agent_id=left[0] if left else None,
                    from_workgroup_id=conv.workgroup_id,
                ),
            )
            await self._audit.record(
                tx,
                now,
                actor(staff),
                "supervision.take_over",
                conv.id,
                {"workgroup_id": conv.workgroup_id, "agents": left},
            )
            notes += [
                Kick(workgroup_id=w)
                for w in await self._workgroups.workgroups_of(tx, staff.user_id)
            ]
        await self._bus.publish(
            [
                Appended(conversation_id=conv.id, entries=[EntryOut.of(e) for e in entries]),
                Follow(user_id=staff.user_id, conversation_id=conv.id),
                Kick(workgroup_id=conv.workgroup_id),
                *notes,
            ]
        )
