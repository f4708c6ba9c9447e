"""Latest-state frames (presence, staff profiles, queue positions, typing) are coalesced per
connection: a slow consumer gets the latest state of each subject, not every change, and still
every entry and ack, in order."""

from __future__ import annotations

import asyncio
import json
import random

from tests.realtime.test_hub import CID, FakeRecord, entry, no_snapshot, sent

from parley.domain.access import Staff, StaffRole, Visitor
from parley.domain.presence import Presence
from parley.protocol import Error, PresenceOut, QueueStatus, StaffProfileMessage, TypingOut
from parley.realtime.hub import ClientConnection, Hub, latest_key
from parley.realtime.notifications import Appended, ToConversation, ToStaff

USERS = 1_000
PRESENCES = [Presence.AVAILABLE, Presence.AWAY, Presence.BUSY]


class SlowTransport:
    """A socket that sends a frame only when the test grants it credit."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.credit = asyncio.Semaphore(0)
        self.progress = asyncio.Event()
        self.closed = asyncio.Event()

    async def send_text(self, data: str) -> None:
        await self.credit.acquire()
        self.texts.append(data)
        self.progress.set()

    async def close(self, code: int, reason: str) -> None:
        self.closed.set()

    async def let_through(self, frames: int) -> None:
        """Grant ``frames`` sends and wait until they are made."""
        target = len(self.texts) + frames
        for _ in range(frames):
            self.credit.release()
        while len(self.texts) < target:
            self.progress.clear()
            await self.progress.wait()

    async def finish(self, conn: ClientConnection) -> list[dict[str, object]]:
        """Let everything queued through, up to the close, and return what was sent."""
        conn.request_close(1000, "done")
        for _ in range(len(conn.outbox)):
            self.credit.release()
        await self.closed.wait()
        return [json.loads(t) for t in self.texts]


def presence(user_id: int, p: Presence, status_text: str = "") -> dict[str, object]:
    return PresenceOut(user_id=user_id, presence=p, status_text=status_text).model_dump(mode="json")


def staff(user_id: int = 1) -> Staff:
    return Staff(user_id, f"u{user_id}", f"U{user_id}", StaffRole.AGENT)


async def console(record: FakeRecord, cursor: int = 0) -> tuple[Hub, ClientConnection]:
    hub = Hub(record, no_snapshot)
    conn = ClientConnection("console", staff())
    hub.attach(conn)
    await hub.follow(conn, CID, cursor)
    return hub, conn


async def flood(
    hub: Hub,
    record: FakeRecord,
    changes: int,
    entry_every: int,
    rng: random.Random,
    between: SlowTransport | None = None,
) -> dict[int, dict[str, object]]:
    """``changes`` presence changes of ``USERS`` users, an entry every ``entry_every``; with
    ``between``, a few frames are let through every hundred changes. Returns each user's
    latest presence."""
    latest: dict[int, dict[str, object]] = {}
    for i in range(changes):
        user_id = 1 + rng.randrange(USERS)
        message = presence(user_id, rng.choice(PRESENCES), f"change {i}")
        latest[user_id] = message
        await hub.handle(ToStaff(message=message))
        if i % entry_every == 0:
            new = entry(len(record.entries) + 1)
            record.entries.append(new)
            await hub.handle(Appended(conversation_id=CID, entries=[new]))
        if between is not None and i % 100 == 99:
            await between.let_through(5)
    return latest


def check_latest(
    messages: list[dict[str, object]], latest: dict[int, dict[str, object]], record: FakeRecord
) -> None:
    last_seen: dict[object, dict[str, object]] = {}
    for m in messages:
        if m["type"] == "presence":
            last_seen[m["user_id"]] = m
    assert last_seen == latest  # each user's latest state, as the last word about them
    seqs = [m["entry"]["seq"] for m in messages if m["type"] == "entry"]  # type: ignore[index]
    assert seqs == [e.seq for e in record.entries]  # every entry, once, in order


async def test_a_stalled_console_gets_each_users_latest_presence_and_every_entry() -> None:
    record = FakeRecord(last=0)
    hub, conn = await console(record)
    transport = SlowTransport()
    conn.start(transport)
    latest = await flood(hub, record, 10_000, entry_every=25, rng=random.Random(1))
    assert len(record.entries) == 400
    assert not conn.overflowed  # 1,000 presence slots and 400 entries, past the 1,000 limit
    messages = await transport.finish(conn)
    presences = [m for m in messages if m["type"] == "presence"]
    assert len(presences) <= USERS
    assert len({m["user_id"] for m in presences}) == len(presences)  # one each
    check_latest(messages, latest, record)


async def test_a_slow_console_ends_with_each_users_latest_presence() -> None:
    record = FakeRecord(last=0)
    hub, conn = await console(record)
    transport = SlowTransport()
    conn.start(transport)
    latest = await flood(
        hub, record, 10_000, entry_every=25, rng=random.Random(2), between=transport
    )
    assert not conn.overflowed
    messages = await transport.finish(conn)
    presences = [m for m in messages if m["type"] == "presence"]
    # At most one per user waits at a time; what was let through in between adds to that.
    assert len(presences) <= USERS + 5 * 100
    check_latest(messages, latest, record)


async def test_a_newer_state_takes_the_older_ones_place_and_the_rest_keeps_its_order() -> None:
    record = FakeRecord(last=0)
    hub, conn = await console(record)
    sent(conn)
    record.entries.append(entry(1))
    await hub.handle(ToStaff(message=presence(5, Presence.AWAY)))
    await hub.handle(ToStaff(message=presence(6, Presence.AWAY)))
    await hub.handle(Appended(conversation_id=CID, entries=[entry(1)]))
    await hub.handle(ToStaff(message=presence(5, Presence.AVAILABLE)))
    messages = sent(conn)
    assert [(m["type"], m.get("user_id"), m.get("presence")) for m in messages] == [
        ("presence", 5, "available"),
        ("presence", 6, "away"),
        ("entry", None, None),
    ]
    # Once sent, the next change queues anew, behind what is waiting.
    await hub.handle(ToStaff(message=presence(5, Presence.BUSY)))
    record.entries.append(entry(2))
    await hub.handle(Appended(conversation_id=CID, entries=[entry(2)]))
    await hub.handle(ToStaff(message=presence(5, Presence.AWAY)))
    assert [(m["type"], m.get("presence")) for m in sent(conn)] == [
        ("presence", "away"),
        ("entry", None),
    ]
    assert conn._latest is None  # drained: no table kept for an idle connection


async def test_acks_errors_and_other_frames_are_never_coalesced() -> None:
    conn = ClientConnection("x", staff())
    for _ in range(3):
        conn.send(Error(code="rate_limited", message="slow down"))
        conn.send({"type": "offer_ended", "offer_id": "o", "reason": "declined"})
    assert [m["type"] for m in sent(conn)] == ["error", "offer_ended"] * 3


async def test_subjects_are_kind_and_subject() -> None:
    typing = [
        TypingOut(conversation_id=CID, participant=p, name=p, active=a)
        for p, a in [("visitor", True), ("user:1", True), ("visitor", False)]
    ]
    assert latest_key(typing[0]) == latest_key(typing[2]) != latest_key(typing[1])
    queue = QueueStatus(conversation_id=CID, status="waiting", position=3)
    profile = StaffProfileMessage(user_id=5, display_name="A", title="", photo_url=None)
    assert latest_key(queue) == ("queue", CID)
    assert latest_key(profile) != latest_key(PresenceOut.model_validate(presence(5, Presence.AWAY)))
    assert latest_key(queue.model_dump(mode="json")) == latest_key(queue)

    hub = Hub(FakeRecord(last=0), no_snapshot)
    visitor = ClientConnection("v", Visitor(CID))
    hub.attach(visitor)
    await hub.follow(visitor, CID, 0)
    sent(visitor)
    for position in (3, 2, 1):
        status = QueueStatus(conversation_id=CID, status="waiting", position=position)
        await hub.handle(
            ToConversation(conversation_id=CID, message=status.model_dump(mode="json"))
        )
    for t in typing:
        await hub.handle(ToConversation(conversation_id=CID, message=t.model_dump(mode="json")))
    assert [(m["type"], m.get("position"), m.get("active")) for m in sent(visitor)] == [
        ("queue", 1, None),
        ("typing", None, False),  # the visitor's own typing: the latest, in the first's place
        ("typing", None, True),
    ]


async def test_too_many_subjects_waiting_close_the_connection() -> None:
    conn = ClientConnection("x", staff(), latest_limit=10)
    for user_id in range(10):
        conn.send(PresenceOut.model_validate(presence(user_id, Presence.AWAY)))
    assert not conn.overflowed
    conn.send(PresenceOut.model_validate(presence(3, Presence.BUSY)))  # a known subject
    assert not conn.overflowed
    conn.send(PresenceOut.model_validate(presence(10, Presence.AWAY)))
    assert conn.overflowed
    assert conn.close_with == (1013, "too slow; reconnect and resume")
