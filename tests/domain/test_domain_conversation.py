"""Conversations (participants, gapless log) and access rules over them."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime, timedelta

import pytest

from parley.domain import conversation as conv_mod
from parley.domain.access import (
    Staff,
    StaffRole,
    Visitor,
    can_read,
    can_read_earlier,
    needs_membership,
    require_participant,
    require_read,
    require_read_earlier,
    require_role,
)
from parley.domain.conversation import (
    DEFAULT_MAX_MESSAGE_CHARS,
    MAX_CLIENT_ID_CHARS,
    VISITOR_KEY,
    Conversation,
    Entry,
    EntryKind,
    Kind,
    Participant,
    Role,
    Status,
    end,
    join,
    open_customer_chat,
    post_message,
    staff_key,
)
from parley.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLong
from parley.domain.identity import Customer

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AGENT_ID = 11
AGENT_KEY = staff_key(AGENT_ID)
WG = 5


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def agent(user_id: int = AGENT_ID, now: datetime = T0, name: str = "Ana") -> Participant:
    return Participant(staff_key(user_id), Role.AGENT, name, now, user_id=user_id)


def queued(conversation_id: str = "c1") -> Conversation:
    conv, _ = open_customer_chat(conversation_id, 5, "Vic", {"page": "/pricing"}, T0)
    return conv


def active(conversation_id: str = "c1") -> Conversation:
    conv, _ = join(queued(conversation_id), agent(now=at(1)), at(1))
    return conv


# open_customer_chat -------------------------------------------------------------------------------


def test_open_customer_chat() -> None:
    conv, entries = open_customer_chat("c1", 5, "Vic", {"page": "/pricing"}, T0)
    assert conv.id == "c1"
    assert conv.kind is Kind.CUSTOMER_CHAT
    assert conv.status is Status.QUEUED
    assert conv.created_at == T0
    assert conv.workgroup_id == 5
    assert conv.metadata == {"page": "/pricing"}
    assert conv.participants == (Participant(VISITOR_KEY, Role.VISITOR, "Vic", T0),)
    assert conv.last_seq == 1
    assert conv.ended_at is None
    assert conv.end_reason is None
    assert entries == [Entry(1, EntryKind.QUEUED, None, {"workgroup_id": 5}, T0)]
    assert conv.agent_ids() == []


def test_conversation_is_immutable() -> None:
    conv = queued()
    with pytest.raises(FrozenInstanceError):
        conv.status = Status.ENDED  # type: ignore[misc]


# post_message -------------------------------------------------------------------------------------


def test_visitor_may_write_while_queued() -> None:
    conv = queued()
    new, entry = post_message(conv, VISITOR_KEY, "hello?", "m1", at(2))
    assert entry == Entry(2, EntryKind.MESSAGE, VISITOR_KEY, {"text": "hello?"}, at(2), "m1")
    assert new.last_seq == 2
    assert new.status is Status.QUEUED
    assert conv.last_seq == 1  # the input is untouched


def test_agent_and_visitor_write_when_active() -> None:
    conv = active()
    conv, e1 = post_message(conv, AGENT_KEY, "Hi, I'm Ana", "a1", at(3))
    conv, e2 = post_message(conv, VISITOR_KEY, "hi", "v1", at(4))
    assert (e1.seq, e1.author, e2.seq, e2.author) == (3, AGENT_KEY, 4, VISITOR_KEY)
    assert conv.last_seq == 4


def test_non_participant_may_not_write() -> None:
    conv = active()
    with pytest.raises(Forbidden):
        post_message(conv, staff_key(99), "hi", "x1", at(2))


def test_agent_who_has_not_joined_may_not_write_to_queued_chat() -> None:
    with pytest.raises(Forbidden):
        post_message(queued(), AGENT_KEY, "hi", "x1", at(2))


def test_participant_who_left_may_not_write() -> None:
    conv = active()
    left = tuple(replace(p, left_at=at(5)) if p.key == AGENT_KEY else p for p in conv.participants)
    conv = replace(conv, participants=left)
    with pytest.raises(Forbidden):
        post_message(conv, AGENT_KEY, "still here?", "a9", at(6))


def test_nobody_may_write_after_end() -> None:
    conv, _ = end(active(), AGENT_KEY, "ended", at(5))
    for author in (VISITOR_KEY, AGENT_KEY, staff_key(99)):
        with pytest.raises(Conflict):
            post_message(conv, author, "hello", "x", at(6))


@pytest.mark.parametrize("text", ["", " ", "\n\t  \r\n", "\u3000"])
def test_empty_or_blank_text_is_invalid(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        post_message(active(), VISITOR_KEY, text, "v1", at(2))
    assert type(info.value) is InvalidInput
    assert info.value.code == "invalid_input"


def test_text_at_max_is_accepted_and_one_more_is_too_long() -> None:
    conv = active()
    _, entry = post_message(conv, VISITOR_KEY, "a" * DEFAULT_MAX_MESSAGE_CHARS, "v1", at(2))
    assert len(entry.body["text"]) == DEFAULT_MAX_MESSAGE_CHARS
    with pytest.raises(TooLong) as info:
        post_message(conv, VISITOR_KEY, "a" * (DEFAULT_MAX_MESSAGE_CHARS + 1), "v2", at(2))
    assert info.value.code == "too_long"
    assert isinstance(info.value, InvalidInput)  # the web layer may treat it as bad input


def test_max_chars_is_a_parameter_and_counts_characters() -> None:
    conv = active()
    _, entry = post_message(conv, VISITOR_KEY, "€€€€€", "v1", at(2), max_chars=5)
    assert entry.body == {"text": "€€€€€"}
    with pytest.raises(TooLong):
        post_message(conv, VISITOR_KEY, "€€€€€€", "v2", at(2), max_chars=5)


def test_text_is_stored_verbatim() -> None:
    text = "  line one\n\tline two  "
    _, entry = post_message(active(), VISITOR_KEY, text, "v1", at(2))
    assert entry.body["text"] == text


@pytest.mark.parametrize("client_id", ["", "x" * (MAX_CLIENT_ID_CHARS + 1)])
def test_invalid_client_id(client_id: str) -> None:
    with pytest.raises(InvalidInput):
        post_message(active(), VISITOR_KEY, "hi", client_id, at(2))


@pytest.mark.parametrize("client_id", ["a", "x" * MAX_CLIENT_ID_CHARS, "0b9e-uuid-ish"])
def test_valid_client_id(client_id: str) -> None:
    _, entry = post_message(active(), VISITOR_KEY, "hi", client_id, at(2))
    assert entry.client_id == client_id


@pytest.mark.parametrize(
    ("author", "text", "client_id", "error"),
    [
        (VISITOR_KEY, "", "v1", InvalidInput),
        (VISITOR_KEY, "hi", "", InvalidInput),
        (VISITOR_KEY, "a" * (DEFAULT_MAX_MESSAGE_CHARS + 1), "v1", TooLong),
        ("user:99", "hi", "v1", Forbidden),
    ],
)
def test_failed_post_takes_no_sequence_number(
    author: str, text: str, client_id: str, error: type[Exception]
) -> None:
    conv = active()
    with pytest.raises(error):
        post_message(conv, author, text, client_id, at(2))
    _, entry = post_message(conv, VISITOR_KEY, "hi", "v1", at(2))
    assert entry.seq == conv.last_seq + 1 == 3


# join ---------------------------------------------------------------------------------------------


def test_agent_join_makes_chat_active() -> None:
    conv = queued()
    new, entry = join(conv, agent(now=at(1)), at(1))
    assert new.status is Status.ACTIVE
    assert entry == Entry(2, EntryKind.JOINED, AGENT_KEY, {"name": "Ana", "role": "agent"}, at(1))
    assert new.agent_ids() == [AGENT_ID]
    assert new.participant(AGENT_KEY) == agent(now=at(1))


def test_visitor_join_does_not_activate() -> None:
    conv = queued()
    again = Participant(VISITOR_KEY, Role.VISITOR, "Vic (again)", at(3))
    new, entry = join(conv, again, at(3))
    assert new.status is Status.QUEUED
    assert entry.kind is EntryKind.JOINED
    # Joining again replaces the participant instead of adding a second one.
    assert [p.key for p in new.participants] == [VISITOR_KEY]
    assert new.participant(VISITOR_KEY) == again


def test_second_agent_joins_active_chat() -> None:
    conv, entry = join(active(), agent(12, at(4), "Bo"), at(4))
    assert conv.status is Status.ACTIVE
    assert entry.seq == 3
    assert conv.agent_ids() == [AGENT_ID, 12]


def test_join_after_end_is_conflict() -> None:
    conv, _ = end(active(), None, "expired", at(5))
    with pytest.raises(Conflict):
        join(conv, agent(12, at(6)), at(6))


# end ----------------------------------------------------------------------------------------------


def test_end_marks_everyone_left_and_records_reason() -> None:
    conv = active()
    new, entries = end(conv, VISITOR_KEY, "ended", at(9))
    assert new.status is Status.ENDED
    assert new.ended_at == at(9)
    assert new.end_reason == "ended"
    assert all(p.left_at == at(9) for p in new.participants)
    assert not any(p.present for p in new.participants)
    assert new.agent_ids() == []
    assert entries == [Entry(3, EntryKind.ENDED, VISITOR_KEY, {"reason": "ended"}, at(9))]


def test_end_keeps_earlier_left_at() -> None:
    conv = active()
    early = Participant(staff_key(12), Role.AGENT, "Bo", at(1), 12, left_at=at(2))
    conv = replace(conv, participants=(*conv.participants, early))
    new, _ = end(conv, None, "ended", at(9))
    assert new.participant(staff_key(12)) == early
    assert new.participant(AGENT_KEY) is not None
    assert new.participant(AGENT_KEY).left_at == at(9)  # type: ignore[union-attr]


@pytest.mark.parametrize("reason", ["cancelled", "expired"])
def test_system_end_of_queued_chat(reason: str) -> None:
    new, entries = end(queued(), None, reason, at(300))
    assert new.status is Status.ENDED
    assert new.end_reason == reason
    assert entries[0].author is None
    assert entries[0].seq == 2


def test_end_is_idempotent() -> None:
    ended, _ = end(active(), AGENT_KEY, "ended", at(9))
    again, entries = end(ended, VISITOR_KEY, "cancelled", at(20))
    assert entries == []
    assert again == ended
    assert again.end_reason == "ended"
    assert again.ended_at == at(9)
    # A retry by anybody, even a non-participant, does not fail.
    assert end(ended, staff_key(99), "ended", at(30)) == (ended, [])


def test_end_by_non_participant_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        end(active(), staff_key(99), "ended", at(9))


# Sequence numbers ---------------------------------------------------------------------------------


def test_sequence_numbers_are_gapless_from_one() -> None:
    conv, entries = open_customer_chat("c1", 5, "Vic", {}, T0)
    log: list[Entry] = list(entries)
    conv, e = post_message(conv, VISITOR_KEY, "anyone?", "v1", at(1))
    log.append(e)
    conv, e = join(conv, agent(now=at(2)), at(2))
    log.append(e)
    for i in range(10):
        author = AGENT_KEY if i % 2 else VISITOR_KEY
        conv, e = post_message(conv, author, f"msg {i}", f"m{i}", at(3 + i))
        log.append(e)
    with pytest.raises(InvalidInput):  # a rejected message takes no number
        post_message(conv, VISITOR_KEY, " ", "bad", at(20))
    conv, ended = end(conv, AGENT_KEY, "ended", at(30))
    log.extend(ended)
    conv, nothing = end(conv, None, "ended", at(31))
    log.extend(nothing)
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    assert conv.last_seq == len(log) == 14
    assert [e.kind for e in log[:3]] == [EntryKind.QUEUED, EntryKind.MESSAGE, EntryKind.JOINED]
    assert log[-1].kind is EntryKind.ENDED


def test_staff_key_format() -> None:
    assert staff_key(42) == "user:42"
    assert conv_mod.VISITOR_KEY == "visitor"


# access -------------------------------------------------------------------------------------------


def staff(role: StaffRole, user_id: int = AGENT_ID) -> Staff:
    return Staff(user_id, f"u{user_id}", f"User {user_id}", role)


def test_visitor_reads_only_its_own_conversation() -> None:
    mine, other = active("c1"), active("c2")
    visitor = Visitor("c1")
    assert visitor.key == VISITOR_KEY
    assert can_read(visitor, mine)
    assert not can_read(visitor, other)
    require_read(visitor, mine)
    with pytest.raises(NotFound) as theirs:
        require_read(visitor, other)
    with pytest.raises(NotFound) as missing:
        require_read(visitor, None)
    assert str(theirs.value) == str(missing.value) == "no such conversation"


def test_agent_reads_where_participant_or_member_of_the_workgroup() -> None:
    mine = active("c1")
    queued_chat = queued("c2")
    someone_elses, _ = join(queued("c3"), agent(12, at(1)), at(1))
    me = staff(StaffRole.AGENT)
    assert me.key == AGENT_KEY
    assert can_read(me, mine)
    assert not can_read(me, queued_chat)
    assert not can_read(me, someone_elses)
    with pytest.raises(NotFound):
        require_read(me, someone_elses)
    # A member of the chat's workgroup reads it; of another workgroup, not.
    assert needs_membership(me, someone_elses) and not needs_membership(me, mine)
    assert can_read(me, someone_elses, member_of={WG})
    assert not can_read(me, someone_elses, member_of={WG + 1})
    require_read(me, someone_elses, {WG})
    # Reading is not writing: a reader who is no participant gets a real 403.
    with pytest.raises(Forbidden):
        require_participant(me, someone_elses, {WG})
    with pytest.raises(NotFound):
        require_participant(me, someone_elses, {WG + 1})


def test_earlier_conversations_link_only_by_verified_identity_or_browser() -> None:
    zoe = Customer("zoe-1", "zoe@example.com", "Zoe")
    me = staff(StaffRole.AGENT)

    def chat(
        cid: str,
        workgroup: int = WG,
        customer: Customer | None = None,
        visitor_id: str | None = None,
    ) -> Conversation:
        conv, _ = open_customer_chat(
            cid,
            workgroup,
            "Zoe",
            {"email": "zoe@example.com"},
            at(0),
            customer=customer,
            visitor_id=visitor_id,
        )
        return join(conv, agent(AGENT_ID, at(1)), at(1))[0]

    now = chat("c0", customer=zoe, visitor_id="b1")
    assert can_read_earlier(me, now, chat("c1", customer=zoe), {WG})
    # A different browser or workgroup does not matter for a verified customer...
    assert can_read_earlier(me, now, chat("c2", WG + 1, customer=zoe, visitor_id="b2"), {WG})
    # ...but the reader must be allowed to read it anyway.
    other_wg, _ = open_customer_chat("c3", WG + 1, "Zoe", {}, at(0), customer=zoe)
    assert not can_read_earlier(me, now, other_wg, {WG})
    assert can_read_earlier(me, now, other_wg, {WG, WG + 1})
    # A supervisor reads those of the workgroups they supervise (given in ``member_of``), an
    # admin every one.
    assert not can_read_earlier(staff(StaffRole.SUPERVISOR, 1), now, other_wg, ())
    assert can_read_earlier(staff(StaffRole.SUPERVISOR, 1), now, other_wg, {WG, WG + 1})
    assert can_read_earlier(staff(StaffRole.ADMIN, 1), now, other_wg, ())
    # The same typed email, another customer or an anonymous chat of the same browser: no.
    assert not can_read_earlier(me, now, chat("c4"), {WG})
    assert not can_read_earlier(me, now, chat("c5", customer=Customer("eve")), {WG})
    assert not can_read_earlier(me, now, chat("c6", visitor_id="b1"), {WG})
    # Anonymous chats link by the same browser only, never with a verified one.
    anon = chat("c7", visitor_id="b1")
    assert can_read_earlier(me, anon, chat("c8", visitor_id="b1"), {WG})
    assert not can_read_earlier(me, anon, chat("c9", visitor_id="b9"), {WG})
    assert not can_read_earlier(me, anon, now, {WG})
    assert not can_read_earlier(me, chat("c10"), chat("c11"), {WG})  # no link at all
    assert not can_read_earlier(me, now, now, {WG})
    with pytest.raises(NotFound, match="no such conversation"):
        require_read_earlier(me, now, None, {WG})
    with pytest.raises(NotFound, match="no such conversation"):
        require_read_earlier(me, now, chat("c4"), {WG})


def test_agent_still_reads_chat_after_it_ended() -> None:
    ended, _ = end(active(), AGENT_KEY, "ended", at(9))
    assert can_read(staff(StaffRole.AGENT), ended)


def test_admins_read_everything_supervisors_what_they_supervise() -> None:
    someone_elses, _ = join(queued("c3"), agent(12, at(1)), at(1))
    admin = staff(StaffRole.ADMIN, user_id=1)
    boss = staff(StaffRole.SUPERVISOR, user_id=2)
    for conv in (queued("c2"), someone_elses, end(someone_elses, None, "ended", at(2))[0]):
        assert can_read(admin, conv)
        require_read(admin, conv)
        # ``member_of`` carries the workgroups a supervisor supervises.
        assert can_read(boss, conv, {WG})
        require_read(boss, conv, {WG})
        assert not can_read(boss, conv, {WG + 1})
        with pytest.raises(NotFound):
            require_read(boss, conv)


@pytest.mark.parametrize("role", [StaffRole.SUPERVISOR, StaffRole.ADMIN])
def test_reading_is_not_participating(role: StaffRole) -> None:
    with pytest.raises(Forbidden):
        require_participant(staff(role, user_id=1), active(), {WG})


def test_require_participant() -> None:
    conv = active()
    require_participant(Visitor("c1"), conv)
    require_participant(staff(StaffRole.AGENT), conv)
    with pytest.raises(NotFound):
        require_participant(Visitor("c2"), conv)
    with pytest.raises(NotFound):
        require_participant(staff(StaffRole.AGENT, user_id=12), conv)
    ended, _ = end(conv, None, "ended", at(5))
    with pytest.raises(Forbidden):
        require_participant(Visitor("c1"), ended)
    with pytest.raises(Forbidden):
        require_participant(staff(StaffRole.AGENT), ended)


ROLES = [StaffRole.AGENT, StaffRole.SUPERVISOR, StaffRole.ADMIN]


@pytest.mark.parametrize("have", ROLES)
@pytest.mark.parametrize("need", ROLES)
def test_require_role_ordering(have: StaffRole, need: StaffRole) -> None:
    principal = staff(have)
    if ROLES.index(have) >= ROLES.index(need):
        assert require_role(principal, need) is principal
    else:
        with pytest.raises(Forbidden):
            require_role(principal, need)


@pytest.mark.parametrize("need", ROLES)
def test_visitor_has_no_role(need: StaffRole) -> None:
    with pytest.raises(Forbidden):
        require_role(Visitor("c1"), need)
