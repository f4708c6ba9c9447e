"""``Hub.follow_read``: a visitor's hello with its own single read of the record. The
connection is registered before the read, so what is committed meanwhile arrives as a
notification and is deduplicated by the cursor the read set; a read that fails leaves nothing
registered."""

from __future__ import annotations

import asyncio

import pytest
from tests.realtime.test_hub import CID, FakeRecord, entry, no_snapshot, sent, seqs

from parley.domain.access import Visitor
from parley.domain.errors import Unauthenticated
from parley.protocol import Error, QueueStatus
from parley.realtime.hub import Catchup, ClientConnection, Hub
from parley.realtime.notifications import Appended


async def test_frames_in_order_and_entries_committed_during_the_read_once() -> None:
    record = FakeRecord(last=3)
    hub = Hub(record, no_snapshot)
    conn = ClientConnection("x", Visitor(CID))
    hub.attach(conn)
    reading = asyncio.Event()
    go_on = asyncio.Event()

    async def read() -> Catchup:
        reading.set()
        await go_on.wait()  # entries 4 and 5 are committed while the read runs
        state = await record.conversation_out(CID)
        assert state is not None
        return Catchup(
            state,
            1,
            [e for e in record.entries if e.seq > 1],
            before=[Error(code="not_found", message="no such conversation")],
            after=[QueueStatus(conversation_id=CID, status="waiting", position=2)],
        )

    following = asyncio.create_task(hub.follow_read(conn, CID, read))
    await reading.wait()
    record.entries += [entry(4), entry(5)]
    # The notification of 4 arrives before the read returns, that of 5 after: both wait
    # for the connection's lock, and neither is sent twice.
    delivering = asyncio.create_task(hub.handle(Appended(conversation_id=CID, entries=[entry(4)])))
    await asyncio.sleep(0)
    go_on.set()
    await following
    await delivering
    await hub.handle(Appended(conversation_id=CID, entries=[entry(5)]))
    messages = sent(conn)
    # The refused cursors, the state, the entries, then the queue position.
    assert [m["type"] for m in messages] == ["error", "conversation", *["entry"] * 4, "queue"]
    assert seqs(messages) == [2, 3, 4, 5]
    assert conn.cursors[CID] == 5


async def test_a_refused_read_leaves_nothing_registered() -> None:
    hub = Hub(FakeRecord(last=2), no_snapshot)
    conn = ClientConnection("x", Visitor(CID))
    hub.attach(conn)

    async def read() -> Catchup:
        raise Unauthenticated("this visitor token has expired: its chat ended")

    with pytest.raises(Unauthenticated):
        await hub.follow_read(conn, CID, read)
    assert CID not in conn.cursors
    await hub.handle(Appended(conversation_id=CID, entries=[entry(3)]))
    assert sent(conn) == []
