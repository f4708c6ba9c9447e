"""Private notes through the hub: staff get them, a visitor gets a placeholder with the same
seq, on every path (live fan-out, the gap catch-up, following, resync)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.realtime.test_hub import CID, FakeRecord, entry, no_snapshot, sent

from parley.domain.access import Staff, StaffRole, Visitor
from parley.protocol import EntryOut
from parley.realtime.hub import ClientConnection, Hub
from parley.realtime.notifications import Appended

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SECRET = "the visitor must never read this"


def note(seq: int) -> EntryOut:
    return EntryOut(
        seq=seq, kind="note", author="user:1", body={"text": SECRET}, client_id="n", created_at=NOW
    )


def entries_of(conn: ClientConnection) -> list[dict[str, object]]:
    return [m["entry"] for m in sent(conn) if m["type"] == "entry"]  # type: ignore[misc]


async def connected(
    record: FakeRecord, cursor: int
) -> tuple[Hub, ClientConnection, ClientConnection]:
    hub = Hub(record, no_snapshot)
    visitor = ClientConnection("v", Visitor(CID))
    staff = ClientConnection("s", Staff(1, "alice", "Alice", StaffRole.AGENT))
    for conn in (visitor, staff):
        hub.attach(conn)
        await hub.follow(conn, CID, cursor)
    return hub, visitor, staff


def placeholder(seq: int) -> dict[str, object]:
    return {
        "seq": seq,
        "kind": "hidden",
        "author": None,
        "body": {},
        "client_id": None,
        "created_at": "2026-01-01T00:00:00Z",
    }


async def test_live_note_is_a_placeholder_for_the_visitor() -> None:
    record = FakeRecord(last=1)
    hub, visitor, staff = await connected(record, 1)
    sent(visitor), sent(staff)
    record.entries += [note(2)]
    await hub.handle(Appended(conversation_id=CID, entries=[note(2)]))
    assert entries_of(visitor) == [placeholder(2)]
    assert entries_of(staff)[0]["body"] == {"text": SECRET}


async def test_gap_catch_up_and_follow_and_resync_hide_notes() -> None:
    record = FakeRecord(last=1)
    record.entries += [note(2)]
    # Following from the start reads the record: a placeholder at seq 2.
    hub, visitor, staff = await connected(record, 0)
    got = entries_of(visitor)
    assert [e["seq"] for e in got] == [1, 2]
    assert got[1] == placeholder(2)
    assert entries_of(staff)[1]["kind"] == "note"
    # The hint for 3 (a note) is lost; 4 arrives: the catch-up reads 3 from the record.
    record.entries += [note(3), entry(4)]
    await hub.handle(Appended(conversation_id=CID, entries=[entry(4)]))
    got = entries_of(visitor)
    assert got == [placeholder(3), {**got[1], "seq": 4}]
    assert [e["kind"] for e in entries_of(staff)] == ["note", "message"]
    # A resync after the bus lost messages.
    record.entries += [note(5)]
    await hub.resync()
    assert entries_of(visitor) == [placeholder(5)]
