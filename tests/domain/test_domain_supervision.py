"""Who supervises what (``domain.access``) and what watching, whispering, barging in and
taking over do to a conversation (``domain.conversation``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parley.domain import access
from parley.domain import conversation as conv
from parley.domain.access import Staff, StaffRole, Visitor
from parley.domain.conversation import Participant, Role, Status
from parley.domain.errors import Conflict, Forbidden, MonitorReadOnly, NotFound

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
ALICE = Staff(1, "alice", "Alice", StaffRole.AGENT)
SAM = Staff(3, "sam", "Sam", StaffRole.SUPERVISOR)
ADMIN = Staff(9, "root", "Root", StaffRole.ADMIN)
SALES, SUPPORT = 1, 2


def active_chat(workgroup: int = SALES) -> conv.Conversation:
    chat, _ = conv.open_customer_chat("c1", workgroup, "Zoe", {}, NOW)
    chat, _ = conv.join(chat, Participant("user:1", Role.AGENT, "Alice", NOW, 1), NOW)
    return chat


def test_who_supervises_which_workgroup() -> None:
    assert access.can_supervise(ADMIN, SUPPORT, ())
    assert access.can_supervise(SAM, SALES, {SALES})
    assert not access.can_supervise(SAM, SUPPORT, {SALES})
    # Being a member (taking its chats) gives nothing; an agent never supervises.
    assert not access.can_supervise(ALICE, SALES, {SALES})
    assert not access.can_supervise(Visitor("c1"), SALES, {SALES})
    assert access.supervised(SAM, {SALES}, [SALES, SUPPORT]) == {SALES}
    assert access.supervised(ADMIN, (), [SALES, SUPPORT]) == {SALES, SUPPORT}
    with pytest.raises(Forbidden):
        access.supervised(ALICE, {SALES}, [SALES])
    with pytest.raises(NotFound) as theirs:
        access.require_supervise(SAM, SUPPORT, {SALES})
    with pytest.raises(NotFound) as none:
        access.require_supervise(SAM, None, {SALES})
    assert theirs.value.message == none.value.message == access.NO_SUCH_WORKGROUP


def test_watching_another_workgroups_chat_reads_like_none() -> None:
    chat = active_chat(SUPPORT)
    with pytest.raises(NotFound) as theirs:
        access.require_monitor(SAM, chat, {SALES})
    with pytest.raises(NotFound) as missing:
        access.require_monitor(SAM, None, {SALES})
    assert theirs.value.message == missing.value.message == access.NO_SUCH_CONVERSATION
    with pytest.raises(Forbidden):
        access.require_monitor(ALICE, chat, {SUPPORT})
    assert access.require_monitor(SAM, chat, {SUPPORT}) is SAM
    ended, _ = conv.end(chat, None, "ended", NOW)
    with pytest.raises(Conflict):
        access.require_monitor(SAM, ended, {SUPPORT})


def test_a_watcher_cannot_write() -> None:
    chat = active_chat()
    with pytest.raises(MonitorReadOnly):
        access.require_participant(SAM, chat, {SALES}, monitoring=True)
    with pytest.raises(Forbidden) as plain:
        access.require_participant(SAM, chat, {SALES})
    assert type(plain.value) is Forbidden
    # A participant who also watches (barged in) writes.
    barged, _ = conv.join(chat, Participant(SAM.key, Role.HELPER, "Sam", NOW, 3), NOW)
    access.require_participant(SAM, barged, {SALES}, monitoring=True)


def test_whisper_is_a_coaching_note_for_staff_only() -> None:
    chat = active_chat()
    before = chat.last_seq
    chat2, entry = conv.post_whisper(chat, SAM.key, "Sam", "offer the voucher", "w1", NOW)
    assert entry.kind is conv.EntryKind.NOTE and conv.is_coaching(entry)
    assert entry.body == {"text": "offer the voucher", "coaching": True, "name": "Sam"}
    assert (entry.seq, chat2.last_seq) == (before + 1, before + 1)
    assert chat2.participants == chat.participants  # the supervisor takes no part
    assert access.visible_entry(Visitor("c1"), entry).kind is conv.EntryKind.HIDDEN
    assert access.visible_entry(ALICE, entry) is entry
    queued, _ = conv.open_customer_chat("c2", SALES, "Yann", {}, NOW)
    with pytest.raises(Conflict):
        conv.post_whisper(queued, SAM.key, "Sam", "hi", "w2", NOW)


def test_barge_needs_an_active_chat_not_joined_yet() -> None:
    chat = active_chat()
    assert access.require_barge(SAM, chat, {SALES}) is SAM
    queued, _ = conv.open_customer_chat("c2", SALES, "Yann", {}, NOW)
    with pytest.raises(Conflict):
        access.require_barge(SAM, queued, {SALES})
    barged, joined = conv.join(chat, Participant(SAM.key, Role.HELPER, "Sam", NOW, 3), NOW)
    assert joined.body == {"name": "Sam", "role": "helper"}
    assert barged.agent_ids() == [1]  # still Alice's chat
    with pytest.raises(Conflict):
        access.require_barge(SAM, barged, {SALES})


def test_take_over() -> None:
    chat = active_chat()
    me = Participant(SAM.key, Role.AGENT, "Sam", NOW, 3)
    taken, entries, left = conv.take_over(chat, me, NOW)
    assert [e.kind for e in entries] == [conv.EntryKind.LEFT, conv.EntryKind.JOINED]
    assert entries[0].body == {"name": "Alice", "role": "agent", "reason": "taken_over"}
    assert left == [1] and taken.agent_ids() == [3]
    assert taken.status is Status.ACTIVE
    with pytest.raises(Conflict):
        conv.take_over(taken, me, NOW)
    # A supervisor who barged in as a helper becomes the agent.
    barged, _ = conv.join(chat, Participant(SAM.key, Role.HELPER, "Sam", NOW, 3), NOW)
    taken, _, _ = conv.take_over(barged, me, NOW)
    assert taken.participant(SAM.key) is not None
    assert taken.participant(SAM.key).role is Role.AGENT  # type: ignore[union-attr]
    ended, _ = conv.end(chat, None, "ended", NOW)
    with pytest.raises(Conflict):
        conv.take_over(ended, me, NOW)
