"""Group commit, the service half: the queue of sends, the one writer that drains it, the
announcements after each commit, and the node's cache of live conversations.

``GroupCommit.submit`` queues a drafted send and waits. One writer task takes whatever is
queued (up to ``max_batch`` items: under load, what queued while the previous batch was being
written; alone, a message goes at once, never held back for a window), has it written in one
transaction (``parley.storage.writer``), sends the items whose snapshot did not hold, or all of
a batch that failed, the ordinary way one by one in order, then hands the batch to the
announcer task: it publishes one ``Appended`` per conversation (after the commit, never
before) and only then answers every waiter. The writer goes on with the next batch meanwhile.
One queue and one writer per node: one sender's messages keep their order, and the messages of
one conversation get consecutive sequence numbers in the order they were submitted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace

from parley.domain.conversation import Conversation, Entry, EntryKind, Status
from parley.metrics import Metrics
from parley.protocol import EntryOut
from parley.realtime.bus import Bus
from parley.realtime.notifications import Appended, Notification
from parley.storage.writer import STALE, BatchWriter, Conflicted, Outcome, SendItem, Stored

log = logging.getLogger(__name__)

#: The ordinary send path: (the entry, whether it was stored just now). Raises its refusals.
SlowSend = Callable[[], Awaitable[tuple[Entry, bool]]]


#: Entries that change nothing about who is in a conversation or whether it goes on.
_PLAIN = frozenset({EntryKind.MESSAGE.value, EntryKind.NOTE.value})


class ConversationCache:
    """Live conversations' participants and status as read at a revision, least recently used
    first out. The invalidation rule: an entry is never trusted on its own. Every send drafted
    on it carries its revision to the database, whose ``UPDATE ... WHERE revision = :rev``
    matches only while nothing about the conversation's participants, status, workgroup or
    metadata changed, on any node; when it does not match, or the snapshot refuses the send,
    the entry is dropped and the next send reads the conversation again. Ended conversations
    are never kept. The pre-chat metadata is not kept (no check reads it)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[Conversation, int]] = OrderedDict()

    def get(self, conversation_id: str) -> tuple[Conversation, int] | None:
        found = self._entries.get(conversation_id)
        if found is not None:
            self._entries.move_to_end(conversation_id)
        return found

    def put(self, conv: Conversation, revision: int) -> None:
        if conv.status is Status.ENDED or self._size <= 0:
            return
        self._entries[conv.id] = (replace(conv, metadata={}), revision)
        self._entries.move_to_end(conv.id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def drop(self, conversation_id: str) -> None:
        self._entries.pop(conversation_id, None)

    async def on_notification(self, note: Notification) -> None:
        """Drop a snapshot as soon as its conversation's participants or status change, on
        any node: every such change appends a log entry (joined, left, ended), and the bus
        brings it here. Sends never depend on this (their revision decides); typing, which
        nothing verifies at commit, does (``ChatService.typing``)."""
        if isinstance(note, Appended) and any(e.kind not in _PLAIN for e in note.entries):
            self.drop(note.conversation_id)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(slots=True)
class _Pending:
    item: SendItem
    slow: SlowSend
    future: asyncio.Future[Entry]


@dataclass(slots=True)
class Stats:
    """Counters for operators and tests."""

    batches: int = 0
    items: int = 0
    #: Items sent the ordinary way: their snapshot did not hold, or their batch failed.
    fallbacks: int = 0
    #: Batches written again after a unique violation (a concurrent duplicate).
    retried_batches: int = 0
    #: Batches that could not be written: their items went the ordinary way.
    failed_batches: int = 0
    last_batch: int = 0
    largest_batch: int = 0


@dataclass(slots=True)
class _Done:
    notes: list[Notification]
    answers: list[tuple[asyncio.Future[Entry], Entry | BaseException]] = field(default_factory=list)


class GroupCommit:
    def __init__(
        self, writer: BatchWriter, bus: Bus, *, max_batch: int, metrics: Metrics | None = None
    ) -> None:
        self._metrics = metrics
        self._writer = writer
        self._bus = bus
        self._max_batch = max(1, max_batch)
        self._items: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._closing = False
        self._done: asyncio.Queue[_Done | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._gate = asyncio.Lock()
        self._queued = asyncio.Condition()
        self.stats = Stats()

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not self._closing

    @property
    def pending(self) -> int:
        """Items queued and not yet taken into a batch."""
        return len(self._items)

    async def start(self) -> None:
        await self._writer.start()
        self._closing = False
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="parley-group-commit"),
            asyncio.create_task(self._answer_loop(), name="parley-group-commit-answers"),
        ]

    async def stop(self) -> None:
        """Write and answer what is queued, then stop (later sends go the ordinary way)."""
        if not self._tasks:
            return
        self._closing = True
        self._wake.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._writer.close()

    async def submit(self, item: SendItem, slow: SlowSend) -> Entry:
        """Store ``item`` in the next batch (``slow`` sends it the ordinary way if its snapshot
        does not hold); returns its entry once committed and announced."""
        if not self.running:  # stopping: the ordinary way, announced here
            entry, fresh = await slow()
            if fresh:
                out = [EntryOut.of(entry)]
                await self._bus.publish(
                    [Appended(conversation_id=item.conversation_id, entries=out)]
                )
            return entry
        future: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        self._items.append(_Pending(item, slow, future))
        self._wake.set()
        async with self._queued:
            self._queued.notify_all()
        return await future

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """No new batch starts while this is held (for tests: queue several, then let them go
        as one batch)."""
        async with self._gate:
            yield

    async def until_pending(self, count: int) -> None:
        """Wait until ``count`` items are queued (for tests, with ``held``)."""
        async with self._queued:
            await self._queued.wait_for(lambda: len(self._items) >= count)

    # The writer -----------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            if not self._items:
                if self._closing:
                    break
                self._wake.clear()
                await self._wake.wait()
                continue
            async with self._gate:
                batch = [
                    self._items.popleft() for _ in range(min(self._max_batch, len(self._items)))
                ]
            if not batch:
                continue
            try:
                done = await self._batch(batch)
            except Exception:  # never stop the writer; nobody is left waiting
                log.exception("group commit failed")
                failure = RuntimeError("the message could not be stored; send it again")
                done = _Done([], [(p.future, failure) for p in batch])
            await self._done.put(done)
        await self._done.put(None)

    async def _batch(self, batch: list[_Pending]) -> _Done:
        stats = self.stats
        stats.batches += 1
        stats.items += len(batch)
        stats.last_batch = len(batch)
        stats.largest_batch = max(stats.largest_batch, len(batch))
        started = time.perf_counter()
        outcomes = await self._write([p.item for p in batch])
        if self._metrics is not None:
            # A batch's size is what its commit stored (repeated client ids store nothing).
            stored = sum(1 for o in outcomes if isinstance(o, Stored) and o.fresh)
            if stored:
                self._metrics.batch_committed(stored, time.perf_counter() - started)
                self._metrics.messages_committed(stored)
        done = _Done([])
        fresh: dict[str, list[EntryOut]] = {}
        for pending, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Stored):
                entry, new = outcome.entry, outcome.fresh
            else:
                stats.fallbacks += 1
                try:
                    entry, new = await pending.slow()
                except Exception as exc:
                    done.answers.append((pending.future, exc))
                    continue
            done.answers.append((pending.future, entry))
            if new:
                fresh.setdefault(pending.item.conversation_id, []).append(EntryOut.of(entry))
        done.notes = [Appended(conversation_id=c, entries=e) for c, e in fresh.items()]
        return done

    async def _write(self, items: list[SendItem]) -> list[Outcome]:
        """The batch's outcomes; all ``STALE`` (each item the ordinary way, so that one bad
        item fails only itself) if it cannot be written. Nothing of a failed attempt was
        committed. A unique violation (the same client id committed meanwhile on another
        node, after this batch looked) gets one more try as a batch: its look-up now finds
        the other node's entry."""
        for attempt in (1, 2):
            try:
                return await self._writer.write(items)
            except Conflicted:
                if attempt == 2:
                    break
                self.stats.retried_batches += 1
                log.info("a batch of %d sends met a concurrent duplicate; again", len(items))
            except Exception:
                log.warning(
                    "a batch of %d sends failed; sending them one by one", len(items), exc_info=True
                )
                break
        self.stats.failed_batches += 1
        return [STALE] * len(items)

    # The announcer --------------------------------------------------------------------------

    async def _answer_loop(self) -> None:
        while (done := await self._done.get()) is not None:
            await self._answer(done)

    async def _answer(self, done: _Done) -> None:
        if done.notes:
            try:
                await self._bus.publish(done.notes)
            except Exception:  # committed: followers catch up from the record
                log.exception("could not announce committed entries")
        for future, answer in done.answers:
            if future.done():  # the sender went away
                continue
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)
