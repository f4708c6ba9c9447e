"""The wire protocol: every WebSocket message, as pydantic models.

Client messages form one discriminated union on ``type`` (``ClientMessage``), server messages
another (``ServerMessage``). ``parley schema`` writes their JSON Schema to
``docs/protocol.schema.json``; a test fails when the committed file and these models disagree.
``docs/protocol.md`` explains them for someone writing a client.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    TypeAdapter,
    model_validator,
)

from parley.domain import access, wallboard
from parley.domain.access import Principal
from parley.domain.conversation import Conversation, Entry, EntryKind, Visibility
from parley.domain.presence import Presence
from parley.domain.text import email_problem, multi_line_problem, one_line_problem

Ref = Annotated[str, Field(max_length=64, description="Echoed in the reply, to match it up.")]
ConversationId = Annotated[str, Field(min_length=1, max_length=32)]


def _unstorable(value: object) -> str | None:
    """Why ``value`` (or a string inside it) cannot be stored and sent back, if it cannot."""
    if isinstance(value, str):
        if "\x00" in value:
            return "text may not contain NUL characters"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text may not contain lone surrogates (invalid Unicode)"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            reason = _unstorable(key) or _unstorable(item)
            if reason:
                return reason
    elif isinstance(value, list | tuple):
        for item in value:
            reason = _unstorable(item)
            if reason:
                return reason
    return None


class CleanInput(BaseModel):
    """Base of every input model (WebSocket and REST): refuses strings that a database or
    UTF-8 cannot hold, so that what is accepted can always be stored and sent back."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        reason = _unstorable(data)
        if reason:
            raise ValueError(reason)
        return data


def _one_line(value: str) -> str:
    problem = one_line_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _email(value: str) -> str:
    problem = email_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _multi_line(value: str) -> str:
    problem = multi_line_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


#: A one-line field a visitor fills in (a name, an address, a page, a form answer): no control
#: characters or line breaks, as typed or once RFC 2047 encoded words are decoded.
OneLine = Annotated[str, AfterValidator(_one_line)]
#: An email address a visitor gives, checked the same way (it reaches a mail's Reply-To).
OneLineEmail = Annotated[EmailStr, AfterValidator(_email), Field(max_length=254)]
#: Multi-line text a visitor writes (a question, a message): tabs and line breaks, no other
#: control characters.
MultiLine = Annotated[str, AfterValidator(_multi_line)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Shared shapes --------------------------------------------------------------------------------


class ParticipantOut(_Message):
    key: str
    role: str
    name: str
    present: bool


class EntryOut(_Message):
    seq: int
    kind: str
    author: str | None
    body: dict[str, Any]
    client_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, entry: Entry) -> EntryOut:
        return cls(
            seq=entry.seq,
            kind=entry.kind.value,
            author=entry.author,
            body=entry.body,
            client_id=entry.client_id,
            created_at=entry.created_at,
        )

    def visible_to(self, principal: Principal) -> EntryOut:
        """This entry as ``principal`` may see it: a private note becomes, for a visitor, a
        ``hidden`` placeholder with the same ``seq`` (and nothing of the note)."""
        if access.can_see_entry(principal, self.kind):
            return self
        return EntryOut(
            seq=self.seq,
            kind=EntryKind.HIDDEN.value,
            author=None,
            body={},
            client_id=None,
            created_at=self.created_at,
        )


class CustomerOut(_Message):
    """A verified customer: what the company's backend signed (``docs/security.md``)."""

    sub: str = Field(description="The customer's id in the company's system.")
    email: str
    name: str


class RoomOut(_Message):
    """What a room or a back-channel has besides its members (``docs/protocol.md``, "Staff
    IM")."""

    name: str
    topic: str
    visibility: Visibility
    customer_conversation_id: str | None = Field(
        None, description="A back-channel's customer chat."
    )


class ConversationOut(_Message):
    id: str
    kind: str
    status: str
    workgroup_id: int | None
    last_seq: int
    created_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    #: The pre-chat form as the visitor typed it: never an identity.
    metadata: dict[str, Any]
    participants: list[ParticipantOut]
    verified: bool = Field(
        False, description="The customer's identity was verified (a signed identity token)."
    )
    customer: CustomerOut | None = Field(
        None, description="The verified identity; null for an anonymous visitor."
    )
    room: RoomOut | None = Field(
        None, description="Rooms and back-channels: name, topic, visibility, customer chat."
    )
    history_starts_at_seq: int = Field(
        1,
        description="The first seq still kept: the archiving policy removed the entries before"
        " it (staff conversations only; 1 when nothing was removed).",
    )

    @classmethod
    def of(cls, conv: Conversation) -> ConversationOut:
        return cls(
            id=conv.id,
            kind=conv.kind.value,
            status=conv.status.value,
            workgroup_id=conv.workgroup_id,
            last_seq=conv.last_seq,
            created_at=conv.created_at,
            ended_at=conv.ended_at,
            end_reason=conv.end_reason,
            metadata=conv.metadata,
            participants=[
                ParticipantOut(key=p.key, role=p.role.value, name=p.display_name, present=p.present)
                for p in conv.participants
            ],
            verified=conv.customer is not None,
            customer=None
            if conv.customer is None
            else CustomerOut(
                sub=conv.customer.sub, email=conv.customer.email, name=conv.customer.name
            ),
            room=None
            if conv.room is None
            else RoomOut(
                name=conv.room.name,
                topic=conv.room.topic,
                visibility=conv.room.visibility,
                customer_conversation_id=conv.room.customer_chat_id,
            ),
            history_starts_at_seq=conv.history_starts_at_seq,
        )


class OfferOut(_Message):
    offer_id: str
    conversation_id: str
    workgroup_id: int
    offered_at: datetime
    expires_at: datetime
    metadata: dict[str, Any]
    #: The queue the request waits in.
    queue_name: str = ""
    #: Offered to several agents at once: the first to accept gets it.
    broadcast: bool = False
    #: Handed on by another agent (a transfer): who, and their note for you.
    transfer: TransferOut | None = None
    #: The customer's identity was verified (``metadata`` is still only what they typed).
    verified: bool = False


class TransferOut(_Message):
    from_user_id: int
    from_name: str
    note: str


class WaitingOut(_Message):
    """A request waiting in a manual-pick queue, which an agent may claim."""

    conversation_id: str
    workgroup_id: int
    queue_id: int
    queue_name: str
    position: int
    priority: int
    waiting_secs: int
    metadata: dict[str, Any]


class InvitationOut(_Message):
    """An invitation into a chat (see ``parley.domain.invitations``)."""

    invitation_id: str
    conversation_id: str
    workgroup_id: int | None
    from_user_id: int
    from_name: str
    to_user_id: int
    to_name: str
    note: str
    created_at: datetime
    expires_at: datetime
    #: The visitor's pre-chat form, so that the invitee knows whom it is about.
    metadata: dict[str, Any]
    #: The customer's identity was verified (a signed identity token), as in ``ConversationOut``.
    verified: bool = False


class LeftMessageOut(_Message):
    """A message a visitor left for a workgroup (see ``parley.domain.messages``)."""

    id: str = Field(description="The message's public id: 32 random hex digits.")
    workgroup: str
    conversation_id: str | None
    name: str
    email: str
    message: str
    page: str
    created_at: datetime
    status: Literal["new", "taken", "done"]
    taken_by: int | None
    taken_by_name: str | None
    taken_at: datetime | None
    done_at: datetime | None
    emailed_at: datetime | None
    email_attempts: int
    last_email_error: str | None


class SupervisionSettingsOut(_Message):
    """A workgroup's wallboard settings (``docs/metrics.md``, "Live (wallboard)")."""

    sl_target_secs: int = Field(description="Service level target: answered within T seconds.")
    sl_goal_percent: int = Field(description="Below this service level, its tile is red.")
    alert_waiting: int | None = Field(description="Red at this many waiting (null: never).")
    alert_longest_wait_secs: int | None
    alert_asa_secs: int | None
    alert_abandoned: int | None
    stalled_secs: int = Field(description="A live chat nobody wrote in for this long is stalled.")
    sound: bool = Field(description="The console sounds when a tile turns red.")
    show_monitoring: bool = Field(description="The chat's agents see who is watching it.")
    ratings: bool = Field(
        True, description="The widget asks the customer to rate the chat when it ends."
    )

    @classmethod
    def of(cls, s: wallboard.Settings) -> SupervisionSettingsOut:
        return cls(
            sl_target_secs=s.sl_target_secs,
            sl_goal_percent=s.sl_goal_percent,
            alert_waiting=s.alert_waiting,
            alert_longest_wait_secs=s.alert_longest_wait_secs,
            alert_asa_secs=s.alert_asa_secs,
            alert_abandoned=s.alert_abandoned,
            stalled_secs=s.stalled_secs,
            sound=s.sound,
            show_monitoring=s.show_monitoring,
            ratings=s.ratings,
        )


class QueueTileOut(_Message):
    """One queue's live numbers (``queue_id`` null: the whole workgroup)."""

    queue_id: int | None
    name: str
    waiting: int
    longest_wait_secs: int
    answered: int = Field(description="Answered today (the workgroup's time zone).")
    abandoned: int = Field(description="Customers who gave up waiting today.")
    expired: int = Field(description="Waits that timed out today.")
    answered_in_target: int
    service_level: float | None = Field(description="0 to 1; null while nothing counts.")
    asa_secs: float | None = Field(description="Average speed of answer today.")
    alerts: list[str] = Field(description="The numbers over their threshold (red).")

    @classmethod
    def of(cls, t: wallboard.QueueTile) -> QueueTileOut:
        return cls(
            queue_id=t.queue_id,
            name=t.name,
            waiting=t.waiting,
            longest_wait_secs=t.longest_wait_secs,
            answered=t.answered,
            abandoned=t.abandoned,
            expired=t.expired,
            answered_in_target=t.answered_in_target,
            service_level=t.service_level,
            asa_secs=None if t.asa_secs is None else round(t.asa_secs, 1),
            alerts=list(t.alerts),
        )


class AgentTileOut(_Message):
    user_id: int
    name: str
    presence: Presence
    secs_in_state: int
    chats: int
    capacity: int


class ChatAgentOut(_Message):
    user_id: int
    name: str


class LiveChatOut(_Message):
    """An active customer chat, as the live chats list shows it."""

    conversation_id: str
    workgroup_id: int
    customer: str = Field(description="The name the customer typed.")
    queue_id: int | None
    queue_name: str
    agents: list[ChatAgentOut]
    created_at: datetime
    wait_secs: int | None = Field(description="How long the customer waited for the agent.")
    duration_secs: int = Field(description="Since the agent took it.")
    idle_secs: int = Field(description="Since the last message.")
    stalled: bool

    @classmethod
    def of(cls, workgroup_id: int, c: wallboard.ChatTile) -> LiveChatOut:
        return cls(
            conversation_id=c.conversation_id,
            workgroup_id=workgroup_id,
            customer=c.customer,
            queue_id=c.queue_id,
            queue_name=c.queue_name,
            agents=[ChatAgentOut(user_id=u, name=n) for u, n in c.agents],
            created_at=c.created_at,
            wait_secs=c.wait_secs,
            duration_secs=c.duration_secs,
            idle_secs=c.idle_secs,
            stalled=c.stalled,
        )


class WallboardOut(_Message):
    """A workgroup's wallboard (``docs/metrics.md``, "Live (wallboard)")."""

    workgroup_id: int
    slug: str
    name: str
    at: datetime = Field(description="The server time the numbers are for.")
    day_start: datetime = Field(description="Today's start in the workgroup's time zone.")
    settings: SupervisionSettingsOut
    total: QueueTileOut
    queues: list[QueueTileOut]
    agents: list[AgentTileOut]
    by_presence: dict[str, int]
    occupancy: float | None = Field(description="0 to 1; null when nobody is working.")
    chats: list[LiveChatOut]
    alerts: list[str] = Field(
        description="Every red tile: the workgroup's by name, a queue's as name:queue_id."
    )

    @classmethod
    def of(cls, workgroup_id: int, slug: str, name: str, b: wallboard.Board) -> WallboardOut:
        return cls(
            workgroup_id=workgroup_id,
            slug=slug,
            name=name,
            at=b.at,
            day_start=b.day_start,
            settings=SupervisionSettingsOut.of(b.settings),
            total=QueueTileOut.of(b.total),
            queues=[QueueTileOut.of(q) for q in b.queues],
            agents=[
                AgentTileOut(
                    user_id=a.user_id,
                    name=a.name,
                    presence=a.presence,
                    secs_in_state=a.secs_in_state,
                    chats=a.chats,
                    capacity=a.capacity,
                )
                for a in b.agents
            ],
            by_presence=dict(b.by_presence),
            occupancy=b.occupancy,
            chats=[LiveChatOut.of(workgroup_id, c) for c in b.chats],
            alerts=list(b.alerts),
        )


class WatcherOut(_Message):
    user_id: int
    name: str


# Client -> server -----------------------------------------------------------------------------


class Hello(CleanInput):
    """First message on every connection."""

    type: Literal["hello"]
    visitor_token: str | None = Field(default=None, max_length=512)
    token: str | None = Field(
        default=None, max_length=512, description="Staff bearer token (else the session cookie)."
    )
    cursors: dict[ConversationId, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        max_length=1000,
        description="Last seq seen per conversation; 0 (or absent) for none.",
    )


class Ping(CleanInput):
    type: Literal["ping"]
    ref: Ref | None = None


class Send(CleanInput):
    type: Literal["send"]
    ref: Ref | None = None
    conversation_id: ConversationId
    client_id: Annotated[str, Field(min_length=1, max_length=64)]
    text: str
    #: A private note: only staff see its text (visitors get a ``hidden`` placeholder).
    private: bool = False
    #: Send it as written although a house rule warned about its words
    #: (``blocked_word_warning``).
    confirm: bool = False


class Typing(CleanInput):
    type: Literal["typing"]
    ref: Ref | None = None
    conversation_id: ConversationId
    active: bool


class SetPresence(CleanInput):
    type: Literal["set_presence"]
    ref: Ref | None = None
    presence: Presence
    status_text: Annotated[str, Field(max_length=140)] = ""
    #: Set the status text as written although a house rule warned (``blocked_word_warning``).
    confirm: bool = False


class Idle(CleanInput):
    """Staff only: this browser's user has been idle for ``idle_away_secs`` (``idle: true``),
    or is back (``idle: false``). See "Idle" in docs/protocol.md."""

    type: Literal["idle"]
    ref: Ref | None = None
    idle: bool


class AcceptOffer(CleanInput):
    type: Literal["accept_offer"]
    ref: Ref | None = None
    offer_id: Annotated[str, Field(max_length=64)]


class DeclineOffer(CleanInput):
    type: Literal["decline_offer"]
    ref: Ref | None = None
    offer_id: Annotated[str, Field(max_length=64)]


#: What the agent records when ending a chat: solved, handed up, or to be followed up.
Outcome = Literal["resolved", "escalated", "follow_up"]


class End(CleanInput):
    """End a conversation; a visitor still waiting in the queue cancels the request. Staff
    may record its ``outcome``."""

    type: Literal["end"]
    ref: Ref | None = None
    conversation_id: ConversationId
    outcome: Outcome | None = None


class Invite(CleanInput):
    """The chat's agent invites another agent, a supervisor or an admin in to help."""

    type: Literal["invite"]
    ref: Ref | None = None
    conversation_id: ConversationId
    user_id: int
    note: Annotated[str, Field(max_length=1000)] = ""


class AcceptInvitation(CleanInput):
    type: Literal["accept_invitation"]
    ref: Ref | None = None
    invitation_id: Annotated[str, Field(max_length=64)]


class DeclineInvitation(CleanInput):
    type: Literal["decline_invitation"]
    ref: Ref | None = None
    invitation_id: Annotated[str, Field(max_length=64)]


class CancelInvitation(CleanInput):
    type: Literal["cancel_invitation"]
    ref: Ref | None = None
    invitation_id: Annotated[str, Field(max_length=64)]


class Leave(CleanInput):
    """An invited helper leaves a chat that goes on."""

    type: Literal["leave"]
    ref: Ref | None = None
    conversation_id: ConversationId


class Supervise(CleanInput):
    """Supervisors and admins: push the wallboard (and live chats) of every workgroup you
    supervise, now and whenever it changes (``wallboard``)."""

    type: Literal["supervise"]
    ref: Ref | None = None


class Unsupervise(CleanInput):
    type: Literal["unsupervise"]
    ref: Ref | None = None


class Monitor(CleanInput):
    """Watch a live chat of a workgroup you supervise, read-only (silent monitoring): its
    state, its entries after ``cursor``, then live. The customer is never told."""

    type: Literal["monitor"]
    ref: Ref | None = None
    conversation_id: ConversationId
    cursor: Annotated[int, Field(ge=0)] = 0


class Unmonitor(CleanInput):
    type: Literal["unmonitor"]
    ref: Ref | None = None
    conversation_id: ConversationId


class Whisper(CleanInput):
    """Write to the chat's agents only, as coaching: the customer never sees it. Answered
    with an ``ack`` like ``send``."""

    type: Literal["whisper"]
    ref: Ref | None = None
    conversation_id: ConversationId
    client_id: Annotated[str, Field(min_length=1, max_length=64)]
    text: str
    confirm: bool = False


class Barge(CleanInput):
    """Join a chat you watch as a participant: the customer sees you join."""

    type: Literal["barge"]
    ref: Ref | None = None
    conversation_id: ConversationId


class Follow(CleanInput):
    """Start following conversations on a live connection, as ``hello``'s cursors do: staff
    IM conversations listed after connecting (one opened with you while you were away), or
    any other you may read. Refused cursors each get an ``error``; then each conversation's
    state and its entries after the cursor; then ``ok``."""

    type: Literal["follow"]
    ref: Ref | None = None
    cursors: dict[ConversationId, Annotated[int, Field(ge=0)]] = Field(
        min_length=1,
        max_length=1000,
        description="Last seq seen per conversation; 0 for none.",
    )


class TakeOver(CleanInput):
    """Take a chat over: its agents leave, you become its agent."""

    type: Literal["take_over"]
    ref: Ref | None = None
    conversation_id: ConversationId


ClientMessage = Annotated[
    Hello
    | Ping
    | Send
    | Typing
    | SetPresence
    | Idle
    | AcceptOffer
    | DeclineOffer
    | End
    | Invite
    | AcceptInvitation
    | DeclineInvitation
    | CancelInvitation
    | Leave
    | Supervise
    | Unsupervise
    | Monitor
    | Unmonitor
    | Whisper
    | Barge
    | TakeOver
    | Follow,
    Field(discriminator="type"),
]
client_message = TypeAdapter[ClientMessage](ClientMessage)


# Server -> client -----------------------------------------------------------------------------


class SessionOut(_Message):
    kind: Literal["visitor", "staff"]
    user_id: int | None = None
    username: str | None = None
    name: str | None = None
    role: str | None = None
    conversation_id: str | None = None


class ArchiveNoticeOut(_Message):
    """What staff are told of the archiving policy (in ``welcome``, and ``GET /archive/
    notice``): the admin's notice for a banner, and a line per kind of conversation."""

    notice: str = Field(description="The admin's notice: plain text, one line; empty: none.")
    updated_at: datetime | None = Field(
        None,
        description="When the notice or the policy last changed (null: never set); show the "
        "banner again when it moves.",
    )
    keep_days: dict[str, int | None] = Field(
        description="Per kind of conversation (customer_chat, direct, room, backchannel): "
        "days kept, null for no time limit."
    )
    lines: dict[str, str] = Field(
        description="Per kind: one line of plain text for where people write, e.g. 'Direct "
        "messages are archived; each message is kept for 30 days, then removed.'"
    )


class Welcome(_Message):
    type: Literal["welcome"] = "welcome"
    session: SessionOut
    node_id: str
    heartbeat_secs: float
    max_message_chars: int
    #: The server's clock, so that clients can show countdowns (offers) despite clock skew.
    server_time: datetime
    #: Staff: after this long without input, send ``idle`` with ``true`` (0: do not).
    idle_away_secs: float = 0
    #: Staff: the archiving policy's notice (a banner at first login, a line per kind);
    #: visitors read theirs from the workgroup's status.
    archive: ArchiveNoticeOut | None = None


class ConversationState(_Message):
    """Sent on (re)connect and when a conversation is added, before its entries."""

    type: Literal["conversation"] = "conversation"
    conversation: ConversationOut


class EntryMessage(_Message):
    type: Literal["entry"] = "entry"
    conversation_id: str
    entry: EntryOut


class Synced(_Message):
    """Everything missed while away has been sent; what follows is live."""

    type: Literal["synced"] = "synced"


class Ack(_Message):
    """Reply to ``send``: the entry as stored (the original one for a repeated client_id)."""

    type: Literal["ack"] = "ack"
    ref: str | None
    conversation_id: str
    entry: EntryOut


class Ok(_Message):
    type: Literal["ok"] = "ok"
    ref: str | None


class Pong(_Message):
    type: Literal["pong"] = "pong"
    ref: str | None = None


class Error(_Message):
    type: Literal["error"] = "error"
    ref: str | None = None
    code: str
    message: str
    #: The conversation concerned, when the error is about one (e.g. a refused cursor).
    conversation_id: str | None = None
    #: With ``rate_limited``: send the refused message again after this many seconds; with
    #: ``busy`` (a refused hello, close 1013): reconnect after this many, plus some jitter.
    retry_after: int | None = None
    #: With ``history_removed``: the first ``seq`` still kept; what follows is sent from it.
    history_starts_at_seq: int | None = None


class QueueStatus(_Message):
    """For the visitor: where the request stands. ``position`` is 1-based while waiting."""

    type: Literal["queue"] = "queue"
    conversation_id: str
    status: Literal["waiting", "accepted", "cancelled", "expired"]
    position: int | None = None
    #: While waiting: the estimated wait from the queue's recent real waits (see
    #: ``parley.domain.routing.estimate_wait``); None until the queue has answered anyone.
    estimated_wait_secs: int | None = None


class TypingOut(_Message):
    type: Literal["typing"] = "typing"
    conversation_id: str
    participant: str
    name: str
    active: bool


class PresenceOut(_Message):
    type: Literal["presence"] = "presence"
    user_id: int
    presence: Presence
    status_text: str
    #: ``away`` because every browser of the member is idle (it turns back by itself).
    idle: bool = False


class StaffProfileMessage(_Message):
    """To every staff connection: a member changed their title or photo (the directory entry's
    other fields; presence comes as ``presence``)."""

    type: Literal["staff_profile"] = "staff_profile"
    user_id: int
    display_name: str
    title: str
    #: ``GET`` it with the session (or token); None: no photo.
    photo_url: str | None


class OfferMessage(_Message):
    type: Literal["offer"] = "offer"
    offer: OfferOut


class OfferEndedMessage(_Message):
    """The offer is gone: accepted (by you), declined, timed_out or withdrawn."""

    type: Literal["offer_ended"] = "offer_ended"
    offer_id: str
    reason: str


class InboxMessage(_Message):
    """A left message is new or changed (taken, done, emailed): for the workgroup's agents and
    every supervisor and admin."""

    type: Literal["left_message"] = "left_message"
    message: LeftMessageOut


class TransferStatus(_Message):
    """For the agent who asked for a transfer: ``pending`` (waiting for someone to accept; you
    keep the chat meanwhile), ``accepted`` (``to_name`` took it; you have left the chat),
    ``failed`` (nobody accepted: the chat stays with you) or ``cancelled``."""

    type: Literal["transfer"] = "transfer"
    conversation_id: str
    status: Literal["pending", "accepted", "failed", "cancelled"]
    to_name: str | None = None


class WaitingChanged(_Message):
    """The waiting requests of a workgroup's manual-pick queues changed: fetch
    ``GET /api/v1/waiting`` again."""

    type: Literal["waiting_changed"] = "waiting_changed"
    workgroup_id: int


class InvitationMessage(_Message):
    """To the invitee and the inviter: an invitation is pending."""

    type: Literal["invitation"] = "invitation"
    invitation: InvitationOut


class InvitationEndedMessage(_Message):
    """To the invitee and the inviter: the invitation is gone: accepted, declined, timed_out
    or cancelled."""

    type: Literal["invitation_ended"] = "invitation_ended"
    invitation_id: str
    conversation_id: str
    reason: Literal["accepted", "declined", "timed_out", "cancelled"]


class MentionMessage(_Message):
    """To the connections of a member mentioned (``@username``) in a staff conversation they
    are in: who wrote it, where, and the message."""

    type: Literal["mention"] = "mention"
    conversation_id: str
    conversation_kind: str = Field(description="direct, room or backchannel.")
    seq: int
    author: str
    name: str
    text: str


class BlockedWordNotice(_Message):
    """To every supervisor and admin: a message matched a blocked-word rule that reports it
    (``notify``, or a warning its sender confirmed). The audit log has the rest
    (``GET /api/v1/admin/audit?subject=<conversation_id>``)."""

    type: Literal["blocked_word"] = "blocked_word"
    conversation_id: str
    #: ``staff:<user id>`` or ``visitor:<conversation id>``.
    actor: str
    #: The scope the message was written in.
    scope: str
    #: The ids of the rules that report it.
    rules: list[int]
    #: What matched those rules, as written.
    words: list[str]


class WallboardMessage(_Message):
    """After ``supervise``: a workgroup's wallboard, whole, each time it changed (at most a
    few times a second; a first one for each workgroup at once). ``board`` null: you no
    longer supervise it (or it is gone)."""

    type: Literal["wallboard"] = "wallboard"
    workgroup_id: int
    board: WallboardOut | None


class WatchingMessage(_Message):
    """To the staff following a chat, in workgroups that show it: who is watching it now
    (silent monitoring). Never sent to a visitor."""

    type: Literal["watching"] = "watching"
    conversation_id: str
    watchers: list[WatcherOut]


class Reconnect(_Message):
    """The server is going away; reconnect (to any node) and resume with your cursors."""

    type: Literal["reconnect"] = "reconnect"
    reason: str


ServerMessage = Annotated[
    Welcome
    | ConversationState
    | EntryMessage
    | Synced
    | Ack
    | Ok
    | Pong
    | Error
    | QueueStatus
    | TypingOut
    | PresenceOut
    | StaffProfileMessage
    | OfferMessage
    | OfferEndedMessage
    | InboxMessage
    | WaitingChanged
    | TransferStatus
    | InvitationMessage
    | InvitationEndedMessage
    | MentionMessage
    | BlockedWordNotice
    | WallboardMessage
    | WatchingMessage
    | Reconnect,
    Field(discriminator="type"),
]
server_message = TypeAdapter[ServerMessage](ServerMessage)


def json_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Parley WebSocket protocol",
        "client": client_message.json_schema(),
        "server": server_message.json_schema(),
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
