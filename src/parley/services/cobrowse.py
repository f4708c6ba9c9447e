"""Co-browsing, first slice (``domain.cobrowse``): agents push pages and lead the customer
("follow me"); admins list the sites pages may be pushed of.

Every change is an entry of the conversation, written under the conversation's lock like any
other and published after commit (``Appended``), so that it is in the transcript, reaches every
node's sockets through the bus, and a reconnecting widget or console reads the state again from
the entries (``domain.cobrowse.state_of``). A retried push or navigation with the same client id
answers with the entry stored the first time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from parley.clock import Clock
from parley.domain import access
from parley.domain import cobrowse as policy
from parley.domain import conversation as conv_policy
from parley.domain.access import Principal
from parley.domain.conversation import Conversation, Entry, EntryKind
from parley.domain.errors import Conflict, NotFound
from parley.protocol import EntryOut
from parley.realtime.bus import Bus
from parley.realtime.notifications import Appended
from parley.services.conversations import readable
from parley.storage.cobrowse import CobrowseStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupStore

_Step = Callable[[Conversation, policy.State], tuple[Conversation, Entry | None]]


class CobrowseService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        *,
        workgroups: WorkgroupStore,
        conversations: ConversationStore,
        cobrowse: CobrowseStore,
    ) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock
        self._workgroups = workgroups
        self._conversations = conversations
        self._cobrowse = cobrowse

    # Admins -----------------------------------------------------------------------------------

    async def sites(self, principal: Principal, slug: str) -> list[str]:
        access.require_cobrowse_sites_editor(principal)
        async with self._db.read() as tx:
            return await self._cobrowse.sites(tx, await self._workgroup_id(tx, slug))

    async def set_sites(self, principal: Principal, slug: str, sites: list[str]) -> list[str]:
        """Replace the list (``UrlRefused`` for an entry that is not an origin: nothing saved)."""
        access.require_cobrowse_sites_editor(principal)
        checked = policy.normalize_sites(sites)
        async with self._db.write() as tx:
            wg = await self._workgroup_id(tx, slug)
            await self._cobrowse.save_sites(tx, wg, checked)
        return checked

    async def _workgroup_id(self, tx: Tx, slug: str) -> int:
        wg = await self._workgroups.workgroup_by_slug(tx, slug)
        if wg is None:
            raise NotFound(f"no workgroup {slug!r}")
        return wg.id

    # The chat ---------------------------------------------------------------------------------

    async def options(self, principal: Principal, conversation_id: str) -> tuple[str, list[str]]:
        """For the console's co-browse pane: the customer's site (its origin; empty if not
        known) and the workgroup's allowed sites."""
        async with self._db.read() as tx:
            conv = await self._readable(tx, principal, conversation_id)
            access.require_cobrowse_agent(principal, conv)
            origin = policy.origin_of(policy.host_page(conv))
            assert conv.workgroup_id is not None
            sites = await self._cobrowse.sites(tx, conv.workgroup_id)
        return ("" if origin is None else str(origin)), sites

    async def state(self, principal: Principal, conversation_id: str) -> policy.State:
        async with self._db.read() as tx:
            await self._readable(tx, principal, conversation_id)
            return policy.state_of(await self._cobrowse.state_entries(tx, conversation_id))

    async def push(
        self, principal: Principal, conversation_id: str, url: str, title: str, client_id: str
    ) -> EntryOut:
        conv_policy.validate_client_id(client_id)

        async def step(tx: Tx, conv: Conversation) -> _Step:
            me = access.require_cobrowse_agent(principal, conv)
            checked = await self._check(tx, conv, url)
            return lambda c, _: policy.push(
                c, me.key, me.display_name, checked, title, client_id, self._clock.now()
            )

        entry = await self._write(principal, conversation_id, step, client_id)
        assert entry is not None
        return entry

    async def navigate(
        self, principal: Principal, conversation_id: str, url: str, client_id: str
    ) -> EntryOut:
        conv_policy.validate_client_id(client_id)

        async def step(tx: Tx, conv: Conversation) -> _Step:
            me = access.require_cobrowse_agent(principal, conv)
            checked = await self._check(tx, conv, url)
            return lambda c, s: policy.navigate(
                c, s, me.key, me.display_name, checked, client_id, self._clock.now()
            )

        entry = await self._write(principal, conversation_id, step, client_id)
        assert entry is not None
        return entry

    async def follow(self, principal: Principal, conversation_id: str) -> EntryOut | None:
        """Turn follow me on (None: it already was, for this agent)."""

        async def step(tx: Tx, conv: Conversation) -> _Step:
            me = access.require_cobrowse_agent(principal, conv)
            return lambda c, s: policy.follow(c, s, me.key, me.display_name, self._clock.now())

        return await self._write(principal, conversation_id, step)

    async def unfollow(self, principal: Principal, conversation_id: str) -> EntryOut | None:
        """Stop following: the chat's agents from the console, its customer from the widget
        (None: nobody was following)."""

        async def step(tx: Tx, conv: Conversation) -> _Step:
            if isinstance(principal, access.Visitor):
                access.require_cobrowse_customer(principal, conv)
                by = "customer"
            else:
                access.require_cobrowse_agent(principal, conv)
                by = "agent"
            return lambda c, s: policy.unfollow(c, s, principal.key, by, self._clock.now())

        return await self._write(principal, conversation_id, step)

    async def _check(self, tx: Tx, conv: Conversation, url: str) -> policy.Checked:
        assert conv.workgroup_id is not None
        allowed = await self._cobrowse.sites(tx, conv.workgroup_id)
        return policy.check_url(url, policy.host_page(conv), allowed)

    async def _readable(self, tx: Tx, principal: Principal, conversation_id: str) -> Conversation:
        return await readable(tx, self._workgroups, self._conversations, principal, conversation_id)

    async def _write(
        self,
        principal: Principal,
        conversation_id: str,
        prepare: Callable[[Tx, Conversation], Awaitable[_Step]],
        client_id: str | None = None,
    ) -> EntryOut | None:
        async with self._db.write() as tx:
            conv = await readable(
                tx, self._workgroups, self._conversations, principal, conversation_id, lock=True
            )
            if client_id is not None:
                existing = await self._conversations.entry_by_client_id(
                    tx, conv.id, principal.key, client_id
                )
                if existing is not None:
                    if existing.kind is not EntryKind.COBROWSE:
                        raise Conflict("this client_id was used for a message in this chat")
                    return EntryOut.of(existing)
            step = await prepare(tx, conv)
            state = policy.state_of(await self._cobrowse.state_entries(tx, conv.id))
            conv, entry = step(conv, state)
            if entry is None:
                return None
            await self._conversations.set_last_seq(tx, conv.id, conv.last_seq)
            await self._conversations.insert_entries(tx, conv.id, [entry])
        out = EntryOut.of(entry)
        await self._bus.publish([Appended(conversation_id=conv.id, entries=[out])])
        return out
