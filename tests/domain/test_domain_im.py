"""The staff IM's domain: DMs, rooms, back-channels, mentions, read markers, and who reads
them (``access``). Hypothesis: nobody outside a DM (or a private room, or a back-channel) ever
reads it, whatever their role, and no visitor reads any of them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.domain import access, im
from parley.domain.access import Staff, StaffRole, Visitor
from parley.domain.conversation import (
    Conversation,
    Kind,
    Participant,
    Role,
    Status,
    Visibility,
    end,
    join,
    open_customer_chat,
    post_message,
    post_note,
    staff_key,
)
from parley.domain.errors import (
    Conflict,
    CursorOutOfRange,
    Forbidden,
    InvalidInput,
    NotFound,
    TooLong,
)

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


def person(user_id: int, role: Role = Role.MEMBER) -> Participant:
    return Participant(staff_key(user_id), role, f"User {user_id}", NOW, user_id)


def staff(user_id: int, role: StaffRole = StaffRole.AGENT) -> Staff:
    return Staff(user_id, f"u{user_id}", f"User {user_id}", role)


def test_direct_messages() -> None:
    conv = im.open_direct("d1", [person(1), person(2)], NOW)
    assert (conv.kind, conv.status, conv.last_seq) == (Kind.DIRECT, Status.ACTIVE, 0)
    assert im.direct_key([2, 1, 2]) == im.direct_key([1, 2]) == "1,2"
    with pytest.raises(InvalidInput):
        im.open_direct("d", [person(1)], NOW)
    with pytest.raises(InvalidInput):
        im.open_direct("d", [person(1), person(1)], NOW)
    with pytest.raises(TooLong):
        im.open_direct("d", [person(i) for i in range(im.MAX_DIRECT_MEMBERS + 1)], NOW)
    im.open_direct("d", [person(i) for i in range(im.MAX_DIRECT_MEMBERS)], NOW)
    # Messages: the same domain function as a customer chat's.
    conv, entry = post_message(conv, staff_key(1), "hi", "c1", NOW)
    assert (entry.seq, conv.last_seq) == (1, 1)
    with pytest.raises(Forbidden):
        post_message(conv, staff_key(3), "hi", "c2", NOW)
    with pytest.raises(Forbidden):
        post_note(conv, staff_key(1), "psst", "c3", NOW)
    with pytest.raises(Forbidden):
        end(conv, staff_key(1), "ended", NOW)
    with pytest.raises(Forbidden):
        im.add_member(conv, person(3), NOW)
    with pytest.raises(Forbidden):
        im.leave_room(conv, staff_key(1), NOW)


def test_rooms_names_topics_and_owners() -> None:
    conv, entries = im.open_room("r1", "  General ", "", Visibility.OPEN, person(1), NOW)
    assert conv.room is not None and conv.room.name == "General"
    assert [e.kind.value for e in entries] == ["joined"]
    assert conv.participants[0].role is Role.OWNER
    for bad, error in (
        ("", InvalidInput),
        ("   ", InvalidInput),
        ("x" * 10_000, TooLong),
        ("x" * (im.MAX_ROOM_NAME_CHARS + 1), TooLong),
        ("two\nlines", InvalidInput),
        ("nul\x00", InvalidInput),
    ):
        with pytest.raises(error):
            im.open_room("r", bad, "", Visibility.OPEN, person(1), NOW)
    im.open_room("r", "x" * im.MAX_ROOM_NAME_CHARS, "", Visibility.OPEN, person(1), NOW)
    with pytest.raises(TooLong):
        im.open_room("r", "ok", "t" * (im.MAX_TOPIC_CHARS + 1), Visibility.OPEN, person(1), NOW)

    conv, joined = im.add_member(conv, person(2), NOW)
    assert joined is not None and joined.seq == 2
    same, nothing = im.add_member(conv, person(2), NOW)
    assert nothing is None and same == conv
    conv, topic = im.set_topic(conv, person(2), "Lunch", NOW)
    assert conv.room is not None and conv.room.topic == "Lunch"
    assert topic.body == {"topic": "Lunch", "name": "User 2"}
    # The last owner leaving hands the room on to the oldest other member.
    conv, left = im.leave_room(conv, staff_key(1), NOW)
    assert left.body["reason"] == "left"
    heir = conv.participant(staff_key(2))
    assert heir is not None and heir.role is Role.OWNER
    # Coming back: a member again, not the owner.
    conv, _ = im.add_member(conv, person(1), NOW + timedelta(seconds=1))
    back = conv.participant(staff_key(1))
    assert back is not None and back.present and back.role is Role.MEMBER
    with pytest.raises(Forbidden):
        im.leave_room(conv, staff_key(9), NOW)


def test_room_member_limit() -> None:
    conv, _ = im.open_room("r", "Big", "", Visibility.OPEN, person(0), NOW)
    many = tuple(person(i) for i in range(im.MAX_ROOM_MEMBERS))
    conv = replace(conv, participants=many)
    with pytest.raises(Conflict):
        im.add_member(conv, person(10_000), NOW)


def test_backchannel_takes_the_chats_present_staff() -> None:
    chat, _ = open_customer_chat("c", 1, "Zoe", {}, NOW)
    chat, _ = join(chat, Participant(staff_key(1), Role.AGENT, "Al", NOW, 1), NOW)
    chat, _ = join(chat, Participant(staff_key(2), Role.HELPER, "Bo", NOW, 2), NOW)
    conv, entries = im.open_backchannel("b", chat, person(2), NOW)
    assert conv.kind is Kind.BACKCHANNEL
    assert conv.room is not None and conv.room.customer_chat_id == "c"
    assert sorted(p.key for p in conv.participants) == [staff_key(1), staff_key(2)]
    assert all(p.role is Role.MEMBER for p in conv.participants)
    assert len(entries) == 2
    assert access.can_open_backchannel(staff(1), chat)
    assert access.can_open_backchannel(staff(2), chat)
    assert not access.can_open_backchannel(staff(3, StaffRole.ADMIN), chat)
    assert not access.can_open_backchannel(Visitor("c"), chat)
    with pytest.raises(InvalidInput):
        im.open_backchannel("b2", conv, person(1), NOW)


def test_mentions() -> None:
    assert im.mentions("@alice and @Bob.") == ["alice", "bob"]
    assert im.mentions("mail zoe@example.com or @zoe, @zoe again") == ["zoe"]
    assert im.mentions("no one @ all, @-x, email@x") == []
    assert im.mentions("@first.last: hi") == ["first.last"]
    assert len(im.mentions(" ".join(f"@u{i}" for i in range(100)))) == im.MAX_MENTIONS
    conv = im.open_direct("d", [person(1), person(2)], NOW)
    # Only present members other than the author; a non-member's mention tells nobody.
    assert im.mentioned_members(conv, {"u1": 1, "u2": 2, "u3": 3}, staff_key(1)) == [2]


def test_read_markers() -> None:
    assert im.mark_read(3, 5, 10) == 5
    assert im.mark_read(7, 5, 10) == 7  # never back
    with pytest.raises(CursorOutOfRange):
        im.mark_read(0, 11, 10)
    with pytest.raises(InvalidInput):
        im.mark_read(0, -1, 10)


def test_compliance_hook_grants_nothing_yet() -> None:
    conv = im.open_direct("d", [person(1), person(2)], NOW)
    assert not access.can_read_for_compliance(staff(9, StaffRole.ADMIN), conv)


# Hypothesis: who reads what --------------------------------------------------------------------

USERS = st.integers(min_value=1, max_value=12)
ROLES = st.sampled_from(list(StaffRole))


@st.composite
def staff_conversations(draw: st.DrawFn) -> Conversation:
    kind = draw(st.sampled_from([Kind.DIRECT, Kind.ROOM, Kind.BACKCHANNEL]))
    ids = draw(st.lists(USERS, min_size=2, max_size=im.MAX_DIRECT_MEMBERS, unique=True))
    if kind is Kind.DIRECT:
        conv = im.open_direct("s" * 32, [person(i) for i in ids], NOW)
    elif kind is Kind.ROOM:
        visibility = draw(st.sampled_from(list(Visibility)))
        conv, _ = im.open_room("s" * 32, "Room", "", visibility, person(ids[0]), NOW)
        for i in ids[1:]:
            conv, _ = im.add_member(conv, person(i), NOW)
    else:
        chat, _ = open_customer_chat("c" * 32, 1, "Zoe", {}, NOW)
        chat, _ = join(chat, Participant(staff_key(ids[0]), Role.AGENT, "A", NOW, ids[0]), NOW)
        conv, _ = im.open_backchannel("s" * 32, chat, person(ids[0]), NOW)
        for i in ids[1:]:
            conv, _ = im.add_member(conv, person(i), NOW)
    # Some members left.
    for i in draw(st.lists(st.sampled_from(ids), max_size=3, unique=True)):
        if kind is not Kind.DIRECT:
            conv, _ = im.leave_room(conv, staff_key(i), NOW)
    return conv


@settings(max_examples=400, deadline=None)
@given(
    conv=staff_conversations(),
    who=USERS,
    role=ROLES,
    visitor_of=st.sampled_from(["s" * 32, "c" * 32, "other"]),
)
def test_nobody_outside_reads_a_staff_conversation(
    conv: Conversation, who: int, role: StaffRole, visitor_of: str
) -> None:
    principal = staff(who, role)
    member = any(p.user_id == who and p.present for p in conv.participants)
    open_room = (
        conv.kind is Kind.ROOM and conv.room is not None and conv.room.visibility is Visibility.OPEN
    )
    if role is StaffRole.GUEST:
        # A guest reads the room they are a member of, nothing else (no open room, no DM).
        member = member and conv.kind is Kind.ROOM
        open_room = False
    assert access.can_read(principal, conv) == (member or open_room)
    # Workgroups and roles give nothing here.
    assert access.can_read(principal, conv, member_of=range(100)) == (member or open_room)
    # No visitor, whatever conversation their token names (the back-channel's own id, its
    # customer chat's), ever reads one.
    assert not access.can_read(Visitor(visitor_of), conv)
    with pytest.raises(NotFound):
        access.require_read(Visitor(visitor_of), conv)
    if not (member or open_room):
        with pytest.raises(NotFound) as refused:
            access.require_read(principal, conv)
        assert refused.value.message == access.NO_SUCH_CONVERSATION
    # Writing is for present members only.
    try:
        access.require_participant(principal, conv)
        writes = True
    except (NotFound, Forbidden):
        writes = False
    assert writes == member
