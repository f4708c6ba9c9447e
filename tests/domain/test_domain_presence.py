"""Agent presence: chosen presence, status text and the disconnect grace period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parley.domain import presence
from parley.domain.errors import InvalidInput
from parley.domain.presence import AgentPresence, Presence, PresenceChanged

T0 = datetime(2026, 1, 1, tzinfo=UTC)
GRACE = timedelta(seconds=60)
AGENT = 7


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def online(p: Presence = Presence.AVAILABLE, text: str = "", connections: int = 1) -> AgentPresence:
    """An agent who connected at T0 and chose ``p`` right away."""
    state = presence.connected(presence.initial(AGENT, T0))
    state, _ = presence.set_presence(state, p, text, connections, T0)
    return state


# initial / set_presence -------------------------------------------------------------------------


def test_initial_is_offline_without_events_or_deadline() -> None:
    state = presence.initial(AGENT, T0)
    assert state.presence is Presence.OFFLINE
    assert state.status_text == ""
    assert state.changed_at == T0
    assert presence.deadline(state, GRACE) is None
    assert presence.expire(state, at(3600), GRACE) == (state, [])


def test_set_presence_changes_state_and_emits_one_event() -> None:
    state = presence.connected(presence.initial(AGENT, T0))
    new, events = presence.set_presence(state, Presence.BUSY, "lunch", 1, at(5))
    assert new == AgentPresence(AGENT, Presence.BUSY, "lunch", at(5), None)
    assert events == [PresenceChanged(AGENT, Presence.BUSY, "lunch", "set")]


def test_set_same_presence_and_text_is_silent() -> None:
    state = online(Presence.AWAY, "brb")
    new, events = presence.set_presence(state, Presence.AWAY, "brb", 1, at(10))
    assert events == []
    assert new == state  # changed_at is not touched


def test_changing_only_status_text_is_a_change() -> None:
    state = online(Presence.AWAY, "brb")
    new, events = presence.set_presence(state, Presence.AWAY, "back at 3", 1, at(10))
    assert new.status_text == "back at 3"
    assert new.changed_at == at(10)
    assert events == [PresenceChanged(AGENT, Presence.AWAY, "back at 3", "set")]


def test_status_text_at_limit_is_accepted() -> None:
    text = "x" * presence.MAX_STATUS_TEXT_CHARS
    new, _ = presence.set_presence(online(), Presence.BUSY, text, 1, at(1))
    assert new.status_text == text


def test_status_text_over_limit_is_invalid_and_changes_nothing() -> None:
    state = online()
    text = "x" * (presence.MAX_STATUS_TEXT_CHARS + 1)
    with pytest.raises(InvalidInput) as info:
        presence.set_presence(state, Presence.BUSY, text, 1, at(1))
    assert info.value.code == "invalid_input"
    assert state == online()  # frozen input, unchanged


def test_status_text_limit_counts_characters_not_bytes() -> None:
    text = "é" * presence.MAX_STATUS_TEXT_CHARS  # 280 bytes in UTF-8
    new, _ = presence.set_presence(online(), Presence.BUSY, text, 1, at(1))
    assert new.status_text == text


def test_set_with_connections_cancels_running_grace_period() -> None:
    state = presence.disconnected(online(), 0, at(10))
    assert state.disconnected_at == at(10)
    new, _ = presence.set_presence(state, Presence.AVAILABLE, "", 2, at(20))
    assert new.disconnected_at is None
    assert presence.deadline(new, GRACE) is None


# Grace period -----------------------------------------------------------------------------------


def test_disconnect_with_other_connections_left_changes_nothing() -> None:
    state = online()
    assert presence.disconnected(state, 1, at(10)) == state
    assert presence.deadline(state, GRACE) is None


def test_last_disconnect_starts_grace_period() -> None:
    state = presence.disconnected(online(), 0, at(10))
    assert state.presence is Presence.AVAILABLE
    assert state.disconnected_at == at(10)
    assert presence.deadline(state, GRACE) == at(70)


def test_second_disconnect_does_not_restart_grace_period() -> None:
    state = presence.disconnected(online(), 0, at(10))
    again = presence.disconnected(state, 0, at(40))
    assert again.disconnected_at == at(10)
    assert presence.deadline(again, GRACE) == at(70)


def test_expire_before_grace_boundary_changes_nothing() -> None:
    state = presence.disconnected(online(), 0, at(10))
    just_before = at(70) - timedelta(microseconds=1)
    assert presence.expire(state, just_before, GRACE) == (state, [])


def test_expire_exactly_at_grace_boundary_goes_offline() -> None:
    state = presence.disconnected(online(Presence.BUSY, "on a call"), 0, at(10))
    new, events = presence.expire(state, at(70), GRACE)
    assert new.presence is Presence.OFFLINE
    assert new.status_text == ""
    assert new.changed_at == at(70)
    assert events == [PresenceChanged(AGENT, Presence.OFFLINE, "", "disconnected")]
    assert presence.deadline(new, GRACE) is None


def test_expire_after_grace_boundary_goes_offline_once() -> None:
    state = presence.disconnected(online(), 0, at(10))
    new, events = presence.expire(state, at(500), GRACE)
    assert new.presence is Presence.OFFLINE
    assert len(events) == 1
    assert presence.expire(new, at(600), GRACE) == (new, [])


def test_reconnect_within_grace_changes_nothing() -> None:
    before = online(Presence.BUSY, "on a call")
    state = presence.disconnected(before, 0, at(10))
    state = presence.connected(state)
    assert state == before
    assert presence.deadline(state, GRACE) is None
    # Long after the grace period would have run out, the agent is still busy.
    assert presence.expire(state, at(3600), GRACE) == (state, [])


def test_reconnect_at_last_moment_still_counts() -> None:
    state = presence.disconnected(online(), 0, at(10))
    assert presence.expire(state, at(69), GRACE) == (state, [])
    state = presence.connected(state)
    assert presence.expire(state, at(70), GRACE) == (state, [])


def test_connected_when_already_connected_is_identity() -> None:
    state = online()
    assert presence.connected(state) is state


def test_grace_restarts_from_the_latest_disconnect_after_a_reconnect() -> None:
    state = presence.disconnected(online(), 0, at(10))
    state = presence.connected(state)
    state = presence.disconnected(state, 0, at(50))
    assert presence.deadline(state, GRACE) == at(110)
    assert presence.expire(state, at(70), GRACE)[1] == []
    assert presence.expire(state, at(110), GRACE)[0].presence is Presence.OFFLINE


def test_grace_is_a_parameter() -> None:
    state = presence.disconnected(online(), 0, at(0))
    short = timedelta(seconds=5)
    assert presence.deadline(state, short) == at(5)
    assert presence.expire(state, at(5), short)[0].presence is Presence.OFFLINE


def test_offline_agent_with_disconnect_has_no_deadline() -> None:
    state, _ = presence.expire(presence.disconnected(online(), 0, at(0)), at(60), GRACE)
    assert state.presence is Presence.OFFLINE
    assert presence.deadline(state, GRACE) is None


# Presence set over the API with no connection open ----------------------------------------------


def test_set_over_api_without_connection_starts_grace_period() -> None:
    # Connected at T0 (no grace running), then sets presence over the API with zero live
    # connections: the grace period starts at that moment.
    state = online(Presence.AWAY)
    new, events = presence.set_presence(state, Presence.AVAILABLE, "", 0, at(30))
    assert events == [PresenceChanged(AGENT, Presence.AVAILABLE, "", "set")]
    assert new.disconnected_at == at(30)
    assert presence.deadline(new, GRACE) == at(90)
    assert presence.expire(new, at(89), GRACE)[1] == []
    assert presence.expire(new, at(90), GRACE)[0].presence is Presence.OFFLINE


def test_set_same_presence_over_api_without_connection_still_starts_grace_period() -> None:
    state = online(Presence.AVAILABLE)
    new, events = presence.set_presence(state, Presence.AVAILABLE, "", 0, at(30))
    assert events == []
    assert presence.deadline(new, GRACE) == at(90)


def test_set_over_api_does_not_restart_a_running_grace_period() -> None:
    state = presence.disconnected(online(), 0, at(10))
    new, _ = presence.set_presence(state, Presence.BUSY, "", 0, at(30))
    assert presence.deadline(new, GRACE) == at(70)


def test_offline_agent_set_over_api_without_connection_gets_a_full_grace_period() -> None:
    state = presence.initial(AGENT, T0)  # offline, disconnected_at == T0
    new, _ = presence.set_presence(state, Presence.AVAILABLE, "", 0, at(3600))
    assert presence.deadline(new, GRACE) == at(3660)
    after, events = presence.expire(new, at(3600), GRACE)
    assert events == []
    assert after.presence is Presence.AVAILABLE


def test_agent_back_over_api_after_expiry_gets_a_full_grace_period() -> None:
    state = presence.disconnected(online(), 0, at(0))
    state, _ = presence.expire(state, at(60), GRACE)
    new, _ = presence.set_presence(state, Presence.AVAILABLE, "", 0, at(600))
    assert presence.deadline(new, GRACE) == at(660)
    assert presence.expire(new, at(600), GRACE)[1] == []


# Idle ------------------------------------------------------------------------------------------


def test_idle_turns_available_away_and_back() -> None:
    state = online(text="at my desk")
    away, events = presence.set_idle(state, True, at(300))
    assert (away.presence, away.away_from_idle, away.changed_at) == (Presence.AWAY, True, at(300))
    assert away.status_text == "at my desk"  # the member's own text is kept
    assert events == [PresenceChanged(AGENT, Presence.AWAY, "at my desk", "idle", True)]
    back, events = presence.set_idle(away, False, at(400))
    assert (back.presence, back.away_from_idle, back.changed_at) == (
        Presence.AVAILABLE,
        False,
        at(400),
    )
    assert events == [PresenceChanged(AGENT, Presence.AVAILABLE, "at my desk", "active")]


def test_one_active_connection_keeps_a_member_available() -> None:
    state = online()
    assert presence.set_idle(state, False, at(300)) == (state, [])


@pytest.mark.parametrize("chosen", [Presence.AWAY, Presence.BUSY, Presence.OFFLINE])
def test_idle_changes_nothing_but_available(chosen: Presence) -> None:
    state = online(chosen)
    assert presence.set_idle(state, True, at(300)) == (state, [])
    # A chosen away is not ended by activity: only an away that idleness made.
    assert presence.set_idle(state, False, at(301)) == (state, [])


def test_choosing_a_presence_ends_the_idle_away() -> None:
    away, _ = presence.set_idle(online(), True, at(300))
    chosen, events = presence.set_presence(away, Presence.AWAY, "", 1, at(310))
    assert chosen.away_from_idle is False and events == []  # the same presence, now by choice
    assert presence.set_idle(chosen, False, at(320)) == (chosen, [])


def test_offline_and_missed_offers_end_the_idle_away() -> None:
    away, _ = presence.set_idle(online(), True, at(300))
    gone = presence.disconnected(away, 0, at(301))
    offline, events = presence.expire(gone, at(361), GRACE)
    assert (offline.presence, offline.away_from_idle) == (Presence.OFFLINE, False)
    assert events[0].reason == "disconnected"
    # Back online later: activity does not make the offline member available.
    again = presence.connected(offline)
    assert presence.set_idle(again, False, at(400)) == (again, [])


# Status text and notifications -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["two\nlines", "tab\there", "nul\x00", "sep\u2028x"])
def test_status_text_is_one_line(text: str) -> None:
    with pytest.raises(InvalidInput):
        presence.set_presence(online(), Presence.BUSY, text, 1, at(1))


def test_status_text_of_140_characters_is_accepted() -> None:
    state, _ = presence.set_presence(online(), Presence.BUSY, "é" * 140, 1, at(1))
    assert state.status_text == "é" * 140


def test_only_busy_silences_notifications() -> None:
    assert [p for p in Presence if presence.silences_notifications(p)] == [Presence.BUSY]
