"""Agent presence.

An agent chooses ``available``, ``away`` or ``busy`` (with optional status text); only
``available`` agents receive offers. Connections come and go: when the last connection of an
agent closes, a grace period starts (default 60 s). A reconnect within it changes nothing; when it
runs out with no connection back, the agent becomes ``offline``.

The number of live connections is counted by the caller (across every node) and passed in.

Presence is every staff member's, not only agents': every account has one (``initial`` at
creation). For routing only ``available`` counts; for the staff IM, ``busy`` silences
notifications (``silences_notifications``).

**Idle.** A browser reports when its user has been idle for ``idle_away_secs`` (and when they
are back). ``set_idle`` turns ``available`` into ``away`` while every connection of the member is
idle, and back into ``available`` when one is active again, but only an away that idleness
made (``away_from_idle``): a member who chose ``away`` stays away. Any chosen presence clears
the flag, and so does going offline.

**Status text.** One line of at most 140 characters (``check_status_text``); the house rules of
scope ``status_text`` are applied by the service.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from parley.domain.errors import InvalidInput

MAX_STATUS_TEXT_CHARS = 140
#: The default of the ``idle_away_secs`` setting: a browser idle this long turns available away.
IDLE_AWAY_SECS = 300


class Presence(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    BUSY = "busy"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class AgentPresence:
    agent_id: int
    presence: Presence
    status_text: str
    changed_at: datetime
    #: Set while the agent has no live connection: when the last one closed.
    disconnected_at: datetime | None
    #: The member is ``away`` because their browser went idle (not by choice).
    away_from_idle: bool = False


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    agent_id: int
    presence: Presence
    status_text: str
    reason: str  # "set" | "disconnected" | "missed_offers" | "idle" | "active"
    away_from_idle: bool = False


def check_status_text(text: str) -> str:
    """The status text as stored: one line, at most ``MAX_STATUS_TEXT_CHARS``.
    A line break or another control character is refused (``InvalidInput``)."""
    if len(text) > MAX_STATUS_TEXT_CHARS:
        raise InvalidInput(f"status text is limited to {MAX_STATUS_TEXT_CHARS} characters")
    if any(unicodedata.category(c) == "Cc" for c in text) or "\u2028" in text or "\u2029" in text:
        raise InvalidInput("status text is one line, without control characters")
    return text


def silences_notifications(presence: Presence) -> bool:
    """Whether a member in ``presence`` is spared notifications (mentions): ``busy`` is."""
    return presence is Presence.BUSY


def initial(agent_id: int, now: datetime) -> AgentPresence:
    return AgentPresence(agent_id, Presence.OFFLINE, "", now, disconnected_at=now)


def set_presence(
    state: AgentPresence,
    presence: Presence,
    status_text: str,
    live_connections: int,
    now: datetime,
) -> tuple[AgentPresence, list[PresenceChanged]]:
    """The member chose a presence (which ends an away that idleness made). Returns the new
    state and a change event if any."""
    status_text = check_status_text(status_text)
    disconnected_at = state.disconnected_at
    if live_connections > 0:
        disconnected_at = None
    elif disconnected_at is None or state.presence is Presence.OFFLINE:
        # Set over the API with no connection open: the grace period starts now (an offline
        # agent's old disconnect time must not count, or they would go offline at once).
        disconnected_at = now
    if presence == state.presence and status_text == state.status_text:
        return replace(state, disconnected_at=disconnected_at, away_from_idle=False), []
    new = AgentPresence(state.agent_id, presence, status_text, now, disconnected_at)
    return new, [PresenceChanged(state.agent_id, presence, status_text, "set")]


def set_idle(
    state: AgentPresence, all_idle: bool, now: datetime
) -> tuple[AgentPresence, list[PresenceChanged]]:
    """A connection reported idle or active; ``all_idle`` says whether every live connection
    of the member is idle now. Available -> away (``away_from_idle``) when all are idle; an
    idle away -> available when one is active. Anything else is left as it is."""
    if all_idle and state.presence is Presence.AVAILABLE:
        new = replace(state, presence=Presence.AWAY, changed_at=now, away_from_idle=True)
        event = PresenceChanged(state.agent_id, Presence.AWAY, state.status_text, "idle", True)
        return new, [event]
    if not all_idle and state.presence is Presence.AWAY and state.away_from_idle:
        new = replace(state, presence=Presence.AVAILABLE, changed_at=now, away_from_idle=False)
        event = PresenceChanged(state.agent_id, Presence.AVAILABLE, state.status_text, "active")
        return new, [event]
    return state, []


def set_away_for_missed_offers(
    state: AgentPresence, missed: int, now: datetime
) -> tuple[AgentPresence, list[PresenceChanged]]:
    """Routing saw ``missed`` offers in a row time out: the agent is away until they come back,
    and the status text says why."""
    if state.presence is not Presence.AVAILABLE:
        return state, []
    text = f"Set away: {missed} offers in a row were not answered"
    new = replace(
        state, presence=Presence.AWAY, status_text=text, changed_at=now, away_from_idle=False
    )
    return new, [PresenceChanged(state.agent_id, Presence.AWAY, text, "missed_offers")]


def connected(state: AgentPresence) -> AgentPresence:
    """A connection opened: any running grace period is cancelled. Presence is unchanged."""
    if state.disconnected_at is None:
        return state
    return replace(state, disconnected_at=None)


def disconnected(state: AgentPresence, live_connections: int, now: datetime) -> AgentPresence:
    """A connection closed; ``live_connections`` is how many remain (on every node)."""
    if live_connections > 0 or state.disconnected_at is not None:
        return state
    return replace(state, disconnected_at=now)


def expire(
    state: AgentPresence, now: datetime, grace: timedelta
) -> tuple[AgentPresence, list[PresenceChanged]]:
    """Take the agent offline once the grace period after the last disconnect has run out."""
    if (
        state.presence is Presence.OFFLINE
        or state.disconnected_at is None
        or now < state.disconnected_at + grace
    ):
        return state, []
    new = replace(
        state, presence=Presence.OFFLINE, status_text="", changed_at=now, away_from_idle=False
    )
    return new, [PresenceChanged(state.agent_id, Presence.OFFLINE, "", "disconnected")]


def deadline(state: AgentPresence, grace: timedelta) -> datetime | None:
    """When ``expire`` will next have something to do, if ever."""
    if state.presence is Presence.OFFLINE or state.disconnected_at is None:
        return None
    return state.disconnected_at + grace
