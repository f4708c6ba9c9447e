"""The hub's delivery rules, with a fake record: nothing twice, nothing lost, in order."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel

from parley.domain.access import Principal, Visitor
from parley.protocol import ConversationOut, EntryOut, QueueStatus
from parley.realtime.hub import Backlog, ClientConnection, Hub
from parley.realtime.notifications import Appended, ToConversation

CID = "c" * 32
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def entry(seq: int) -> EntryOut:
    return EntryOut(
        seq=seq,
        kind="message",
        author="visitor",
        body={"text": f"m{seq}"},
        client_id=None,
        created_at=NOW,
    )


class FakeRecord:
    """What the database holds; counts how often the hub had to read it."""

    def __init__(self, last: int) -> None:
        self.entries = [entry(i) for i in range(1, last + 1)]
        self.reads = 0
        self.last_seq = last
        #: Where the kept history starts (``trim`` moves it up, as the retention job does).
        self.start = 1

    def trim(self, start: int) -> None:
        self.entries = [e for e in self.entries if e.seq >= start]
        self.start = start

    def append(self, *seqs: int) -> list[EntryOut]:
        new = [entry(s) for s in seqs]
        self.entries += new
        self.last_seq = max(self.last_seq, *seqs)
        return new

    async def conversation_out(self, conversation_id: str) -> ConversationOut | None:
        return ConversationOut(
            id=conversation_id,
            kind="customer_chat",
            status="active",
            workgroup_id=1,
            last_seq=max([self.last_seq, *(e.seq for e in self.entries)]),
            created_at=NOW,
            ended_at=None,
            end_reason=None,
            metadata={},
            participants=[],
            history_starts_at_seq=self.start,
        )

    async def backlog(self, conversation_id: str, after: int, *, state: bool = False) -> Backlog:
        self.reads += 1
        return Backlog(
            self.start,
            [e for e in self.entries if e.seq > after],
            await self.conversation_out(conversation_id) if state else None,
        )


async def no_snapshot(_: Principal) -> Sequence[BaseModel]:
    return [QueueStatus(conversation_id=CID, status="waiting", position=1)]


def sent(conn: ClientConnection) -> list[dict[str, object]]:
    out = []
    while conn.outbox:
        text = conn.pop()
        if text is not None:
            out.append(json.loads(text))
    return out


def seqs(messages: list[dict[str, object]]) -> list[int]:
    return [m["entry"]["seq"] for m in messages if m["type"] == "entry"]  # type: ignore[index]


async def test_follow_sends_state_then_what_follows_the_cursor() -> None:
    record = FakeRecord(last=5)
    hub = Hub(record, no_snapshot)
    conn = ClientConnection("x", Visitor(CID))
    hub.attach(conn)
    await hub.follow(conn, CID, 2)
    messages = sent(conn)
    assert messages[0]["type"] == "conversation"
    assert seqs(messages) == [3, 4, 5]


async def test_live_entries_are_delivered_once_in_order_and_gaps_read_the_record() -> None:
    record = FakeRecord(last=2)
    hub = Hub(record, no_snapshot)
    conn = ClientConnection("x", Visitor(CID))
    hub.attach(conn)
    await hub.follow(conn, CID, 2)
    sent(conn)
    reads = record.reads
    record.entries += [entry(3)]
    await hub.handle(Appended(conversation_id=CID, entries=[entry(3)]))
    await hub.handle(Appended(conversation_id=CID, entries=[entry(3)]))  # a duplicate hint
    assert seqs(sent(conn)) == [3]
    assert record.reads == reads  # in order: no database read needed
    # 4 and 5 are committed but the hint for 4 was lost: 5 arrives first.
    record.entries += [entry(4), entry(5)]
    await hub.handle(Appended(conversation_id=CID, entries=[entry(5)]))
    assert seqs(sent(conn)) == [4, 5]
    assert record.reads == reads + 1
    await hub.handle(Appended(conversation_id=CID, entries=[entry(4)]))  # the late hint
    assert seqs(sent(conn)) == []


async def test_resync_catches_up_and_resends_the_snapshot() -> None:
    record = FakeRecord(last=1)
    hub = Hub(record, no_snapshot)
    conn = ClientConnection("x", Visitor(CID))
    hub.attach(conn)
    await hub.follow(conn, CID, 1)
    sent(conn)
    record.entries += [entry(2), entry(3)]  # published while the bus was down
    await hub.resync()
    messages = sent(conn)
    assert seqs(messages) == [2, 3]
    assert messages[-1]["type"] == "queue"


async def test_audience_and_author_filters() -> None:
    hub = Hub(FakeRecord(last=0), no_snapshot)
    conn = ClientConnection("x", Visitor(CID))
    hub.attach(conn)
    await hub.follow(conn, CID, 0)
    sent(conn)
    await hub.handle(ToConversation(conversation_id=CID, message={"type": "t1"}, audience="staff"))
    await hub.handle(
        ToConversation(conversation_id=CID, message={"type": "t2"}, except_participant="visitor")
    )
    await hub.handle(ToConversation(conversation_id=CID, message={"type": "t3"}))
    assert [m["type"] for m in sent(conn)] == ["t3"]


async def test_a_client_that_cannot_keep_up_is_closed_not_buffered_forever() -> None:
    hub = Hub(FakeRecord(last=0), no_snapshot)
    conn = ClientConnection("x", Visitor(CID), outbox_limit=3)
    hub.attach(conn)
    for i in range(10):
        await hub.handle(ToConversation(conversation_id=CID, message={"type": f"t{i}"}))
    await hub.follow(conn, CID, 0)
    for i in range(10):
        await hub.handle(ToConversation(conversation_id=CID, message={"type": f"t{i}"}))
    assert conn.overflowed
    assert conn.close_with == (1013, "too slow; reconnect and resume")
    assert len(conn.outbox) <= 4  # the limit, plus the close marker


async def test_detach_forgets_the_connection() -> None:
    hub = Hub(FakeRecord(last=0), no_snapshot)
    conn = ClientConnection("x", Visitor(CID))
    hub.attach(conn)
    await hub.follow(conn, CID, 0)
    hub.detach(conn)
    sent(conn)
    await hub.handle(ToConversation(conversation_id=CID, message={"type": "t"}))
    assert sent(conn) == []
    assert hub.connections == frozenset()


async def test_following_again_does_not_send_the_conversation_twice() -> None:
    from parley.domain.access import Staff, StaffRole
    from parley.realtime.notifications import Follow

    hub = Hub(FakeRecord(last=3), no_snapshot)
    conn = ClientConnection("x", Staff(7, "sam", "Sam", StaffRole.SUPERVISOR))
    hub.attach(conn)
    await hub.follow(conn, CID, 0)  # already watching
    assert seqs(sent(conn)) == [1, 2, 3]
    await hub.handle(Follow(user_id=7, conversation_id=CID))  # then accepts it
    assert sent(conn) == []


def removed(messages: list[dict[str, object]]) -> list[object]:
    """The ``history_starts_at_seq`` of every ``history_removed`` error sent."""
    return [
        m["history_starts_at_seq"]
        for m in messages
        if m["type"] == "error" and m["code"] == "history_removed"
    ]


async def test_a_live_catch_up_into_removed_history_says_history_removed() -> None:
    record = FakeRecord(last=3)
    hub = Hub(record, no_snapshot)
    conn = ClientConnection("x", Visitor(CID))
    hub.attach(conn)
    await hub.follow(conn, CID, 3)
    sent(conn)
    # 4 to 6 are committed but their hints are lost; then the retention job trims 1 to 6.
    record.append(4, 5, 6)
    record.trim(7)
    await hub.handle(Appended(conversation_id=CID, entries=record.append(7)))
    messages = sent(conn)
    assert [m["type"] for m in messages] == ["error", "entry"]
    assert messages[0]["conversation_id"] == CID and removed(messages) == [7]
    assert seqs(messages) == [7]
    # Told once: the next gap reads from what is kept, with nothing more to say.
    record.append(8)
    await hub.handle(Appended(conversation_id=CID, entries=record.append(9)))
    messages = sent(conn)
    assert removed(messages) == [] and seqs(messages) == [8, 9]


async def test_a_resync_into_removed_history_says_history_removed() -> None:
    record = FakeRecord(last=2)
    hub = Hub(record, no_snapshot)
    conn = ClientConnection("x", Visitor(CID))
    hub.attach(conn)
    await hub.follow(conn, CID, 2)
    sent(conn)
    record.append(3, 4, 5)  # published while the bus was down
    record.trim(5)
    await hub.resync()
    messages = sent(conn)
    assert removed(messages) == [5] and seqs(messages) == [5]


async def test_following_from_a_cursor_below_what_is_kept() -> None:
    record = FakeRecord(last=6)
    record.trim(4)
    hub = Hub(record, no_snapshot)
    # A cursor the client holds: told, before the state, then sent from what is kept.
    told = ClientConnection("x", Visitor(CID))
    hub.attach(told)
    await hub.follow(told, CID, 1)
    messages = sent(told)
    assert [m["type"] for m in messages[:2]] == ["error", "conversation"]
    assert removed(messages) == [4] and seqs(messages) == [4, 5, 6]
    # Without a cursor (0, not sent): from what is kept, silently.
    silent = ClientConnection("y", Visitor(CID))
    hub.attach(silent)
    await hub.follow(silent, CID, 0)
    messages = sent(silent)
    assert removed(messages) == [] and seqs(messages) == [4, 5, 6]
    # A cursor 0 the client did send is told, as on hello.
    explicit = ClientConnection("z", Visitor(CID))
    hub.attach(explicit)
    await hub.follow(explicit, CID, 0, announce=True)
    assert removed(sent(explicit)) == [4]
    # At or after the cut, nothing to say.
    fine = ClientConnection("w", Visitor(CID))
    hub.attach(fine)
    await hub.follow(fine, CID, 3, announce=True)
    messages = sent(fine)
    assert removed(messages) == [] and seqs(messages) == [4, 5, 6]


async def test_a_silent_follow_of_a_trimmed_empty_conversation_is_not_told_later() -> None:
    record = FakeRecord(last=3)
    record.trim(4)  # everything expired
    hub = Hub(record, no_snapshot)
    conn = ClientConnection("x", Visitor(CID))
    hub.attach(conn)
    await hub.follow(conn, CID, 0)
    assert seqs(sent(conn)) == []
    assert conn.cursors[CID] == 3  # it stands where what is kept begins
    await hub.handle(Appended(conversation_id=CID, entries=record.append(4)))
    messages = sent(conn)
    assert removed(messages) == [] and seqs(messages) == [4]
