"""After the fact, the pure part: a rating's checks, who it goes to, tag names and outcomes,
and the permissions in ``access`` (who rates, who reads which ratings, who wraps a chat up)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parley.domain import access
from parley.domain import wrapup as policy
from parley.domain.access import Staff, StaffRole, Visitor
from parley.domain.conversation import Conversation, Kind, Participant, Role, Status
from parley.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLong

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def staff(user_id: int, role: StaffRole = StaffRole.AGENT) -> Staff:
    return Staff(user_id, f"u{user_id}", f"U{user_id}", role)


def chat(
    status: Status = Status.ENDED, agents: tuple[int, ...] = (1,), helpers: tuple[int, ...] = ()
) -> Conversation:
    people = [Participant("visitor", Role.VISITOR, "Zoe", NOW)]
    people += [Participant(f"user:{a}", Role.AGENT, f"U{a}", NOW, a, NOW) for a in agents]
    people += [Participant(f"user:{h}", Role.HELPER, f"U{h}", NOW, h) for h in helpers]
    return Conversation(
        id="c1", kind=Kind.CUSTOMER_CHAT, status=status, created_at=NOW, workgroup_id=10,
        participants=tuple(people),
    )  # fmt: skip


@pytest.mark.parametrize("score", [1, 3, 5])
def test_a_rating_is_one_to_five(score: int) -> None:
    r = policy.rating("c1", score, "  fine \n", 7, 10, NOW)
    assert (r.score, r.comment, r.agent_id, r.workgroup_id, r.created_at) == (
        score,
        "fine",
        7,
        10,
        NOW,
    )


@pytest.mark.parametrize("score", [0, 6, -1, True])
def test_other_scores_are_refused(score: int) -> None:
    with pytest.raises(InvalidInput):
        policy.rating("c1", score, "", None, None, NOW)


def test_a_comment_is_at_most_a_thousand() -> None:
    assert len(policy.rating("c1", 3, "x" * 1000, None, None, NOW).comment) == 1000
    with pytest.raises(TooLong):
        policy.rating("c1", 3, "x" * 1001, None, None, NOW)


@pytest.mark.parametrize(
    ("author", "agent"),
    [("user:7", 7), ("visitor", None), (None, None), ("user:", None), ("user:x", None)],
)
def test_who_a_rating_goes_to(author: str | None, agent: int | None) -> None:
    assert policy.rated_agent(author) == agent


def test_tag_names_and_outcomes() -> None:
    assert policy.tag_name("  Big   refund ") == "Big refund"
    for bad in ("", "   "):
        with pytest.raises(InvalidInput):
            policy.tag_name(bad)
    with pytest.raises(TooLong):
        policy.tag_name("x" * 65)
    assert policy.outcome("follow_up") == "follow_up"
    with pytest.raises(InvalidInput):
        policy.outcome("lost")


def test_only_the_chats_visitor_rates_once_it_ended() -> None:
    assert access.require_rater(Visitor("c1"), chat()) == Visitor("c1")
    for who, conv in (
        (Visitor("c2"), chat()),
        (staff(1), chat()),
        (Visitor("c1"), None),
    ):
        with pytest.raises(NotFound):
            access.require_rater(who, conv)
    with pytest.raises(Conflict):
        access.require_rater(Visitor("c1"), chat(Status.ACTIVE))
    with pytest.raises(Conflict):
        access.require_rater(Visitor("c1"), chat(agents=()))  # nobody answered it


def test_whose_ratings_each_reads() -> None:
    agent = access.rating_scope(staff(1), {10})
    assert (agent.workgroups, agent.everything, agent.sees_shoppers) == (frozenset(), False, False)
    sup = access.rating_scope(staff(2, StaffRole.SUPERVISOR), {10})
    assert (sup.workgroups, sup.everything, sup.sees_shoppers) == (frozenset({10}), False, True)
    admin = access.rating_scope(staff(3, StaffRole.ADMIN), ())
    assert (admin.everything, admin.sees_shoppers) == (True, True)
    for nobody in (Visitor("c1"), staff(4, StaffRole.GUEST)):
        with pytest.raises(Forbidden):
            access.rating_scope(nobody, ())


def test_who_wraps_a_chat_up() -> None:
    conv = chat(agents=(1,), helpers=(5,))
    # A supervisor's readable workgroups (``member_of``) include those they supervise.
    for who, mine, supervises in (
        (staff(1), (), ()),
        (staff(5), (), ()),
        (staff(2, StaffRole.SUPERVISOR), {10}, {10}),
    ):
        assert access.require_outcome_setter(who, conv, mine, supervises) == who
    assert access.require_outcome_setter(staff(3, StaffRole.ADMIN), conv, (), ()).user_id == 3
    # A colleague of the workgroup reads it but may not; another workgroup's supervisor does
    # not even read it.
    with pytest.raises(Forbidden):
        access.require_wrap_up(staff(6), conv, {10}, ())
    with pytest.raises(NotFound):
        access.require_wrap_up(staff(2, StaffRole.SUPERVISOR), conv, {11}, {11})
    # Someone who cannot read it: as for none.
    with pytest.raises(NotFound):
        access.require_wrap_up(staff(6), conv, (), ())
    with pytest.raises(NotFound):
        access.require_wrap_up(Visitor("c2"), conv, (), ())
    with pytest.raises(Forbidden):
        access.require_wrap_up(Visitor("c1"), conv, (), ())  # its customer reads it
    with pytest.raises(NotFound):
        access.require_wrap_up(staff(1), None, (), ())
    # Tags while it goes on, the outcome only once it ended.
    live = chat(Status.ACTIVE)
    assert access.require_wrap_up(staff(1), live, (), ()) == staff(1)
    with pytest.raises(Conflict):
        access.require_outcome_setter(staff(1), live, (), ())


def test_tags_are_kept_by_admins_and_read_by_staff() -> None:
    assert access.require_tag_reader(staff(1)) == staff(1)
    with pytest.raises(Forbidden):
        access.require_tag_reader(staff(4, StaffRole.GUEST))
    with pytest.raises(Forbidden):
        access.require_tag_editor(staff(2, StaffRole.SUPERVISOR))
    assert access.require_tag_editor(staff(3, StaffRole.ADMIN)).user_id == 3
