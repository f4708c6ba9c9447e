"""The archiving policy: random arrival and expiry, only what expired is gone, never a hole
without an answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.domain import retention
from parley.domain.conversation import Kind
from parley.domain.errors import InvalidInput
from parley.domain.retention import (
    Action,
    CursorAnswer,
    Hold,
    Policy,
    Summary,
    cursor_answer,
    decide,
    plan,
    trim_point,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Model:
    id: str
    kind: Kind
    created: datetime
    entries: dict[int, datetime] = field(default_factory=dict)
    last_seq: int = 0
    history_starts_at_seq: int = 1
    ended_at: datetime | None = None
    customer_sub: str | None = None
    backchannel: Model | None = None
    chat: str | None = None
    typed_email: str | None = None
    #: A back-channel: its chat, whose customer its summary carries.
    owner: Model | None = None

    def summary(self) -> Summary:
        kept = sorted(self.entries.items())
        bc = self.backchannel
        customer = self.owner or self
        return Summary(
            self.id,
            self.kind,
            self.ended_at is not None,
            max([self.created, *self.entries.values()]),
            kept[0][1] if kept else None,
            customer.customer_sub,
            None,
            self.chat,
            None if bc is None else bc.summary(),
            customer.typed_email,
        )


kinds = st.sampled_from(list(Kind))
keep = st.one_of(st.none(), st.integers(1, 5))


@settings(max_examples=150, deadline=None)
@given(
    policy_days=st.fixed_dictionaries({k: keep for k in Kind}),
    steps=st.lists(
        st.tuples(
            st.integers(0, 7),  # conversation
            st.sampled_from(["post", "post", "end", "sweep", "wait"]),
            st.integers(0, 36),  # hours that pass
        ),
        min_size=1,
        max_size=60,
    ),
    held=st.sets(st.integers(0, 7), max_size=2),
    held_sub=st.booleans(),
    held_email=st.booleans(),
)
def test_only_what_expired_is_gone_and_every_cursor_has_an_answer(
    policy_days: dict[Kind, int | None],
    steps: list[tuple[int, str, int]],
    held: set[int],
    held_sub: bool,
    held_email: bool,
) -> None:
    policy = Policy(policy_days)
    now = T0
    convs: dict[str, Model] = {}
    for i in range(8):
        kind = [Kind.CUSTOMER_CHAT, Kind.DIRECT, Kind.ROOM, Kind.CUSTOMER_CHAT][i % 4]
        convs[f"c{i}"] = Model(f"c{i}", kind, T0, customer_sub="dana" if i == 4 else None)
    # c0 (Erin typed her email) has a back-channel (c8), held with it by a hold on Erin.
    convs["c0"].typed_email = "erin@example.com"
    bc = Model("c8", Kind.BACKCHANNEL, T0, chat="c0", owner=convs["c0"])
    convs["c0"].backchannel = bc
    convs["c8"] = bc
    holds = [Hold(n + 1, conversation_id=f"c{i}") for n, i in enumerate(sorted(held))]
    if held_sub:
        holds.append(Hold(99, customer_sub="dana"))
    if held_email:
        holds.append(Hold(98, customer_email="ERIN@example.com"))
    removed: set[str] = set()
    # What each client has applied: a cursor per conversation, taken at random moments.
    cursors: dict[str, int] = {}

    for index, action, hours in steps:
        now += timedelta(hours=hours)
        cid = f"c{index}" if index < 8 else "c8"
        conv = convs[cid]
        if action == "post" and cid not in removed and conv.ended_at is None:
            conv.last_seq += 1
            conv.entries[conv.last_seq] = now
            if index % 3 == 0:
                cursors[cid] = conv.last_seq
        elif action == "end" and conv.kind is Kind.CUSTOMER_CHAT and conv.ended_at is None:
            conv.last_seq += 1
            conv.entries[conv.last_seq] = now
            conv.ended_at = now
        elif action == "sweep":
            live = [c for c in convs.values() if c.id not in removed and c.chat is None]
            # Staff conversations are swept on their own as well (back-channels too).
            live += [c for c in convs.values() if c.id not in removed and c.chat is not None]
            for r in plan(policy, holds, [c.summary() for c in live], now):
                target = convs[r.conversation_id]
                cutoff = policy.cutoff(target.kind, now)
                # Only what expired: never held, never within its kind's retention.
                assert cutoff is not None
                assert retention.holding(holds, target.summary()) is None
                if r.action is Action.REMOVE:
                    assert target.ended_at is not None or target.chat is not None
                    assert max([target.created, *target.entries.values()]) < cutoff
                    removed.add(target.id)
                else:
                    assert r.before is not None
                    start = trim_point(sorted(target.entries.items()), r.before, target.last_seq)
                    for seq in list(target.entries):
                        if seq < start:
                            assert target.entries[seq] < cutoff
                            del target.entries[seq]
                    target.history_starts_at_seq = max(target.history_starts_at_seq, start)
        # Invariants after every step.
        for c in convs.values():
            if c.id in removed:
                continue
            kept = sorted(c.entries)
            # No hole: what is kept is exactly history_starts_at_seq .. last_seq.
            assert kept == list(range(c.history_starts_at_seq, c.last_seq + 1))
            if c.kind is Kind.CUSTOMER_CHAT:
                assert c.history_starts_at_seq == 1  # chats go whole or not at all
            # Every cursor gets an answer that explains what it will be sent.
            cur = cursors.get(c.id, 0)
            answer = cursor_answer(cur, c.history_starts_at_seq, c.last_seq)
            if answer is CursorAnswer.OK:
                assert all(s in c.entries for s in range(cur + 1, c.last_seq + 1))
            else:
                assert answer is CursorAnswer.HISTORY_REMOVED
                assert cur < c.history_starts_at_seq - 1
        # A held conversation keeps everything it ever had.
        for h in holds:
            for c in convs.values():
                if h.covers(c.summary()) or (c.chat is not None and h.conversation_id == c.chat):
                    assert c.id not in removed
                    assert c.history_starts_at_seq == 1
        # A back-channel never outlives... its chat may not go before it.
        if "c0" in removed:
            assert "c8" in removed


def test_open_chat_is_never_removed() -> None:
    policy = Policy({Kind.CUSTOMER_CHAT: 1})
    s = Summary("a", Kind.CUSTOMER_CHAT, False, T0, T0)
    assert decide(policy, [], s, T0 + timedelta(days=400)) == []
    ended = Summary("a", Kind.CUSTOMER_CHAT, True, T0, T0)
    assert [r.action for r in decide(policy, [], ended, T0 + timedelta(days=2))] == [Action.REMOVE]


def test_forever_by_default() -> None:
    s = Summary("a", Kind.DIRECT, False, T0, T0)
    assert decide(Policy({}), [], s, T0 + timedelta(days=99_999)) == []


def test_cursor_answers() -> None:
    assert cursor_answer(0, 1, 5) is CursorAnswer.OK
    assert cursor_answer(3, 5, 9) is CursorAnswer.HISTORY_REMOVED
    assert cursor_answer(4, 5, 9) is CursorAnswer.OK
    assert cursor_answer(10, 5, 9) is CursorAnswer.OUT_OF_RANGE


def test_trim_keeps_a_prefix_only() -> None:
    e = [(1, T0), (2, T0 + timedelta(days=3)), (3, T0)]  # 3: a clock step back
    assert trim_point(e, T0 + timedelta(days=1), 3) == 2
    assert trim_point(e, T0 + timedelta(days=9), 3) == 4


def test_bad_input() -> None:
    with pytest.raises(InvalidInput):
        retention.validate_keep_days(0)
    with pytest.raises(InvalidInput):
        retention.validate_notice("x" * 501)
    with pytest.raises(InvalidInput):
        retention.new_hold("a", "b", None, "")
    with pytest.raises(InvalidInput):
        retention.new_hold(None, None, None, "")


def test_the_compliance_right_reads_staff_conversations_and_nothing_else_does() -> None:
    from dataclasses import replace

    from parley.domain import access, im
    from parley.domain.access import Staff, StaffRole

    alice = Staff(1, "alice", "Alice", StaffRole.AGENT)
    bob = Staff(2, "bob", "Bob", StaffRole.AGENT)
    root = Staff(3, "root", "Root", StaffRole.ADMIN)
    from parley.domain.conversation import Participant, Role

    members = [Participant(s.key, Role.MEMBER, s.display_name, T0, s.user_id) for s in (alice, bob)]
    dm = im.open_direct("d1", members, T0)
    assert access.can_read(bob, dm)
    assert not access.can_read(root, dm)
    assert access.can_read_for_compliance(replace(root, compliance=True), dm)
    assert access.can_read(replace(root, compliance=True), dm)
    # An agent with the right reads customer chats of any workgroup as well.
    carl = Staff(4, "carl", "Carl", StaffRole.AGENT)
    chat = replace(dm, kind=Kind.CUSTOMER_CHAT, room=None, participants=(), workgroup_id=9)
    assert not access.can_read(carl, chat)
    assert access.can_read(replace(carl, compliance=True), chat)


def test_a_hold_on_a_customer_covers_both_emails_and_the_back_channel() -> None:
    now = T0 + timedelta(days=30)
    policy = Policy({Kind.CUSTOMER_CHAT: 1, Kind.BACKCHANNEL: 1})
    verified = Summary("a", Kind.CUSTOMER_CHAT, True, T0, None, "s1", "Fred@Example.com")
    typed = Summary("b", Kind.CUSTOMER_CHAT, True, T0, None, typed_email="fred@example.COM")
    neither = Summary("c", Kind.CUSTOMER_CHAT, True, T0, None, "s2", "zed@example.com")
    by_email = Hold(1, customer_email="FRED@example.com")
    assert by_email.covers(verified) and by_email.covers(typed)
    assert not by_email.covers(neither)
    assert [decide(policy, [by_email], s, now) for s in (verified, typed)] == [[], []]
    assert decide(policy, [by_email], neither, now) != []
    # A back-channel's summary carries its chat's customer: trimmed only if that is not held.
    bc = Summary("d", Kind.BACKCHANNEL, False, T0, T0, "s1", held_with="a")
    assert decide(policy, [Hold(2, customer_sub="s1")], bc, now) == []
    assert decide(policy, [Hold(2, customer_sub="s2")], bc, now) != []
    # What the retention queries leave out: held ids, subs, emails (case-folded).
    assert retention.held([by_email, Hold(2, customer_sub="s1"), Hold(3, "c9")]) == (
        retention.Held(("c9",), ("s1",), ("fred@example.com",))
    )


def test_the_lines_staff_are_shown_per_kind() -> None:
    lines = retention.kind_lines(Policy({Kind.CUSTOMER_CHAT: 90, Kind.ROOM: 1}))
    assert lines == {
        Kind.CUSTOMER_CHAT: "Customer chats are archived and kept for 90 days after they end, "
        "then removed.",
        Kind.DIRECT: "Direct messages are archived and kept with no time limit.",
        Kind.ROOM: "Rooms are archived; each message is kept for 1 day, then removed.",
        Kind.BACKCHANNEL: "Back-channels are archived and kept with no time limit.",
    }
    assert "36,500 days" in retention.kind_line(Kind.DIRECT, 36_500)
