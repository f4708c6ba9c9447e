"""The sender's one frame: the ``ack`` goes where the entry would have gone in its stream, once,
in order; the other connections get the ``entry``."""

from __future__ import annotations

from tests.realtime.test_hub import CID, NOW, FakeRecord, no_snapshot, sent

from parley.domain.access import Staff, StaffRole, Visitor
from parley.protocol import EntryOut
from parley.realtime.hub import ClientConnection, Hub
from parley.realtime.notifications import Appended


def message(seq: int, author: str, client_id: str) -> EntryOut:
    return EntryOut(
        seq=seq,
        kind="message",
        author=author,
        body={"text": f"m{seq}"},
        client_id=client_id,
        created_at=NOW,
    )


def kinds(frames: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(m["type"], m["entry"]["seq"]) for m in frames]  # type: ignore[index]


async def two_connections(
    record: FakeRecord,
) -> tuple[Hub, ClientConnection, ClientConnection]:
    hub = Hub(record, no_snapshot)
    sender = ClientConnection("tab-1", Visitor(CID))
    other = ClientConnection("tab-2", Visitor(CID))
    for conn in (sender, other):
        hub.attach(conn)
        await hub.follow(conn, CID, len(record.entries))
        sent(conn)
    return hub, sender, other


async def test_the_commit_reaches_the_sender_as_its_ack_and_the_others_as_the_entry() -> None:
    record = FakeRecord(last=1)
    hub, sender, other = await two_connections(record)
    mine = message(2, "visitor", "c1")
    hub.expect_ack(sender, CID, "c1", "r1")
    record.entries.append(mine)
    await hub.handle(Appended(conversation_id=CID, entries=[mine]))
    frames = sent(sender)
    assert kinds(frames) == [("ack", 2)]
    assert frames[0]["ref"] == "r1"
    assert kinds(sent(other)) == [("entry", 2)]
    await hub.answer(sender, CID, "c1", mine)  # the send returns: already answered
    assert sent(sender) == []
    assert sender.cursors[CID] == 2 and sender.acks == {}


async def test_an_answer_before_the_notification_advances_the_cursor_once() -> None:
    record = FakeRecord(last=1)
    hub, sender, _ = await two_connections(record)
    mine = message(2, "visitor", "c1")
    hub.expect_ack(sender, CID, "c1", "r1")
    record.entries.append(mine)
    await hub.answer(sender, CID, "c1", mine)  # say the local delivery failed
    assert kinds(sent(sender)) == [("ack", 2)]
    await hub.handle(Appended(conversation_id=CID, entries=[mine]))  # late: nothing twice
    assert sent(sender) == []


async def test_an_answer_that_would_leave_a_gap_reads_the_record_first() -> None:
    record = FakeRecord(last=1)
    hub, sender, _ = await two_connections(record)
    theirs, mine = message(2, "user:1", "x"), message(3, "visitor", "c1")
    hub.expect_ack(sender, CID, "c1", "r1")
    record.entries += [theirs, mine]  # committed; neither notification has arrived
    await hub.answer(sender, CID, "c1", mine)
    assert kinds(sent(sender)) == [("entry", 2), ("ack", 3)]
    assert sender.cursors[CID] == 3
    await hub.handle(Appended(conversation_id=CID, entries=[theirs, mine]))
    assert sent(sender) == []


async def test_a_retry_behind_the_cursor_is_acknowledged_without_moving_it() -> None:
    record = FakeRecord(last=1)
    hub, sender, other = await two_connections(record)
    stored = message(1, "visitor", "c1")
    hub.expect_ack(sender, CID, "c1", "r2")
    await hub.answer(sender, CID, "c1", stored)
    assert kinds(sent(sender)) == [("ack", 1)]
    assert sender.cursors[CID] == 1
    assert sent(other) == []


async def test_only_the_senders_own_entry_becomes_its_ack() -> None:
    record = FakeRecord(last=0)
    hub = Hub(record, no_snapshot)
    agent = ClientConnection("a", Staff(1, "alice", "Alice", StaffRole.AGENT))
    hub.attach(agent)
    await hub.follow(agent, CID, 0)
    sent(agent)
    hub.expect_ack(agent, CID, "same", "r1")
    # The visitor happened to choose the same client id: theirs is an entry to the agent.
    theirs = message(1, "visitor", "same")
    record.entries.append(theirs)
    await hub.handle(Appended(conversation_id=CID, entries=[theirs]))
    assert kinds(sent(agent)) == [("entry", 1)]
    mine = message(2, "user:1", "same")
    record.entries.append(mine)
    await hub.handle(Appended(conversation_id=CID, entries=[mine]))
    assert kinds(sent(agent)) == [("ack", 2)]


async def test_a_failed_send_is_forgotten() -> None:
    record = FakeRecord(last=0)
    hub, sender, _ = await two_connections(record)
    hub.expect_ack(sender, CID, "c1", "r1")
    hub.forget_ack(sender, CID, "c1")
    mine = message(1, "visitor", "c1")  # the same client id, stored by another tab later
    record.entries.append(mine)
    await hub.handle(Appended(conversation_id=CID, entries=[mine]))
    assert kinds(sent(sender)) == [("entry", 1)]


async def test_a_connection_not_following_the_conversation_gets_the_ack() -> None:
    hub = Hub(FakeRecord(last=0), no_snapshot)
    conn = ClientConnection("a", Staff(1, "alice", "Alice", StaffRole.ADMIN))
    hub.attach(conn)
    hub.expect_ack(conn, CID, "c1", None)
    await hub.answer(conn, CID, "c1", message(4, "user:1", "c1"))
    assert kinds(sent(conn)) == [("ack", 4)]
    assert CID not in conn.cursors
