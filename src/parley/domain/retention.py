"""The archiving policy: what is kept, for how long, and what a legal hold keeps.

Pure: every function takes ``now``; the retention sweep (``services.archive``) loads
summaries of the oldest conversations, asks ``plan`` what to remove and applies it.

**The unit of removal** (the choice that keeps clients from ever meeting a hole they cannot
explain):

- A **customer chat** is removed *whole*, once it has ended and its last activity is older
  than its kind's ``keep_days``: the conversation, its participants, entries, requests, offers
  and invitations. A chat still open is never touched, so nobody inside a live chat loses
  anything. A chat with a back-channel waits until the back-channel may go too, and then both
  go (the back-channel belongs to the chat).
- A **staff conversation** (DM, room, back-channel) never ends, so it is *trimmed*: the
  entries older than the cutoff are removed as a prefix (every ``seq`` below the first one
  kept), the conversation, its members and read markers stay, and its
  ``history_starts_at_seq`` moves up to the first ``seq`` kept (``last_seq + 1`` when nothing
  is left). What remains is always the contiguous range ``history_starts_at_seq ..
  last_seq``; a cursor that points below it is answered ``history_removed`` (``cursor_answer``)
  and the client is sent what is kept.
- A **legal hold** on a conversation, or on a customer (by verified ``sub`` or by email),
  keeps everything it covers, whatever the policy; a back-channel is held with its chat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from parley.domain.conversation import Kind
from parley.domain.errors import HistoryRemoved, InvalidInput

#: The longest a policy may say in days (100 years); beyond that, say "forever".
MAX_KEEP_DAYS = 36_500
#: The longest archive notice an admin may set.
MAX_NOTICE_CHARS = 500
#: The longest reason of a legal hold.
MAX_HOLD_REASON_CHARS = 500


@dataclass(frozen=True, slots=True)
class Policy:
    """Per kind of conversation: keep for this many days, or forever (``None``, the default
    for a kind nobody set)."""

    keep_days: Mapping[Kind, int | None]

    def days(self, kind: Kind) -> int | None:
        return self.keep_days.get(kind)

    def cutoff(self, kind: Kind, now: datetime) -> datetime | None:
        """What was last active before this has expired (None: kept forever)."""
        days = self.days(kind)
        return None if days is None else now - timedelta(days=days)


def validate_keep_days(days: int | None) -> int | None:
    if days is not None and not 1 <= days <= MAX_KEEP_DAYS:
        raise InvalidInput(f"keep_days is 1 to {MAX_KEEP_DAYS}, or null for forever")
    return days


_KIND_NAMES = {
    Kind.CUSTOMER_CHAT: "Customer chats",
    Kind.DIRECT: "Direct messages",
    Kind.ROOM: "Rooms",
    Kind.BACKCHANNEL: "Back-channels",
}


def kind_line(kind: Kind, days: int | None) -> str:
    """One line of plain text saying how the archiving policy keeps one kind of conversation,
    for the console to show where people write (a DM, a room, a back-channel, a chat)."""
    name = _KIND_NAMES[kind]
    if days is None:
        return f"{name} are archived and kept with no time limit."
    span = "1 day" if days == 1 else f"{days:,} days"
    if kind is Kind.CUSTOMER_CHAT:
        return f"{name} are archived and kept for {span} after they end, then removed."
    return f"{name} are archived; each message is kept for {span}, then removed."


def kind_lines(policy: Policy) -> dict[Kind, str]:
    """``kind_line`` for every kind."""
    return {kind: kind_line(kind, policy.days(kind)) for kind in Kind}


def validate_notice(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_NOTICE_CHARS:
        raise InvalidInput(f"the archive notice is at most {MAX_NOTICE_CHARS} characters")
    if "\n" in text or "\r" in text:
        raise InvalidInput("the archive notice is one line")
    return text


@dataclass(frozen=True, slots=True)
class Hold:
    """A legal hold: on one conversation, or on one customer (verified ``sub`` or email).
    Exactly one of the three is set."""

    id: int
    conversation_id: str | None = None
    customer_sub: str | None = None
    customer_email: str | None = None
    reason: str = ""

    def covers(self, conv: Summary) -> bool:
        """A hold on a conversation covers it and its back-channel; a hold on a customer
        covers every chat of theirs (by ``sub``; by email, the verified one or the one typed
        in the form, case-folded), and each chat's back-channel (whose summary carries its
        chat's customer)."""
        if self.conversation_id is not None:
            return self.conversation_id in (conv.id, conv.held_with)
        if self.customer_sub is not None:
            return conv.customer_sub == self.customer_sub
        if self.customer_email is not None:
            wanted = self.customer_email.casefold()
            return any(
                email is not None and email.casefold() == wanted
                for email in (conv.customer_email, conv.typed_email)
            )
        return False


def new_hold(
    conversation_id: str | None,
    customer_sub: str | None,
    customer_email: str | None,
    reason: str,
) -> Hold:
    """Check what an admin asked to hold: exactly one target, a reason of bounded length."""
    targets = [t for t in (conversation_id, customer_sub, customer_email) if t]
    if len(targets) != 1:
        raise InvalidInput("a hold names exactly one of conversation_id, customer_sub, email")
    if len(reason) > MAX_HOLD_REASON_CHARS:
        raise InvalidInput(f"a hold's reason is at most {MAX_HOLD_REASON_CHARS} characters")
    if any(len(t) > 254 for t in targets):
        raise InvalidInput("a hold's target is at most 254 characters")
    return Hold(0, conversation_id or None, customer_sub or None, customer_email or None, reason)


@dataclass(frozen=True, slots=True)
class Summary:
    """What the policy needs to know of one conversation. A back-channel's carries its
    customer chat's customer (``customer_sub``, the emails): a hold on the customer holds it
    with the chat."""

    id: str
    kind: Kind
    ended: bool
    #: The newest entry's time (the conversation's creation when it has none).
    last_activity: datetime
    #: The oldest entry still kept (None: none is left).
    oldest_entry_at: datetime | None = None
    customer_sub: str | None = None
    #: The verified email (the identity token's).
    customer_email: str | None = None
    #: A back-channel: its customer chat (held with it, removed with it).
    held_with: str | None = None
    #: A customer chat: its back-channel's summary, if it has one.
    backchannel: Summary | None = None
    #: The email typed in the pre-chat form (not an identity, but a hold by email covers it).
    typed_email: str | None = None


class Action(StrEnum):
    REMOVE = "remove"
    TRIM = "trim"


@dataclass(frozen=True, slots=True)
class Removal:
    conversation_id: str
    action: Action
    #: TRIM: entries created before this go (a prefix; see ``trim_point``).
    before: datetime | None = None


@dataclass(frozen=True, slots=True)
class Held:
    """What the holds keep, as the retention job's queries leave it out (so that held
    conversations do not fill every batch): conversation ids (a back-channel is left out
    with its chat), customer ``sub``s, and emails (case-folded). ``decide`` still checks
    every hold: the queries only spare it the work."""

    conversations: tuple[str, ...] = ()
    subs: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


def held(holds: Iterable[Hold]) -> Held:
    holds = list(holds)
    return Held(
        tuple(h.conversation_id for h in holds if h.conversation_id is not None),
        tuple(h.customer_sub for h in holds if h.customer_sub is not None),
        tuple(h.customer_email.casefold() for h in holds if h.customer_email is not None),
    )


def holding(holds: Iterable[Hold], conv: Summary) -> Hold | None:
    for hold in holds:
        if hold.covers(conv):
            return hold
    return None


def decide(policy: Policy, holds: Sequence[Hold], conv: Summary, now: datetime) -> list[Removal]:
    """What expires of one conversation at ``now``: nothing, the whole chat (with its
    back-channel), or a prefix of a staff conversation's entries."""
    if holding(holds, conv) is not None:
        return []
    cutoff = policy.cutoff(conv.kind, now)
    if cutoff is None:
        return []
    if conv.kind is Kind.CUSTOMER_CHAT:
        if not conv.ended or conv.last_activity >= cutoff:
            return []
        bc = conv.backchannel
        if bc is None:
            return [Removal(conv.id, Action.REMOVE)]
        bc_cutoff = policy.cutoff(bc.kind, now)
        if holding(holds, bc) is not None or bc_cutoff is None or bc.last_activity >= bc_cutoff:
            return []  # the chat waits for its back-channel
        return [Removal(bc.id, Action.REMOVE), Removal(conv.id, Action.REMOVE)]
    if conv.oldest_entry_at is None or conv.oldest_entry_at >= cutoff:
        return []
    return [Removal(conv.id, Action.TRIM, cutoff)]


def plan(
    policy: Policy, holds: Sequence[Hold], convs: Iterable[Summary], now: datetime
) -> list[Removal]:
    """Everything that expires among ``convs`` (the sweep hands them oldest first)."""
    out: list[Removal] = []
    for conv in convs:
        out.extend(decide(policy, holds, conv, now))
    return out


def trim_point(entries: Sequence[tuple[int, datetime]], before: datetime, last_seq: int) -> int:
    """The first ``seq`` a trim keeps, given a conversation's kept entries ``(seq,
    created_at)`` in ``seq`` order: the first entry created at or after ``before`` (an entry
    after it that looks older, from a clock step, is kept too: only a prefix goes, so no
    hole opens inside what is kept). ``last_seq + 1`` when every entry has expired."""
    for seq, created_at in entries:
        if created_at >= before:
            return seq
    return last_seq + 1


class CursorAnswer(StrEnum):
    OK = "ok"
    #: The cursor points into history the retention job removed: the client is told the first
    #: ``seq`` kept and sent from there.
    HISTORY_REMOVED = "history_removed"
    #: Beyond ``last_seq`` (as before: sent again from the start).
    OUT_OF_RANGE = "cursor_out_of_range"


def cursor_answer(cursor: int, history_starts_at_seq: int, last_seq: int) -> CursorAnswer:
    """How a cursor (the last ``seq`` a client applied) is answered. A cursor of
    ``history_starts_at_seq - 1`` or more needs nothing removed; below it, entries the client
    has not seen are gone and it is told so."""
    if cursor > last_seq:
        return CursorAnswer.OUT_OF_RANGE
    if cursor < history_starts_at_seq - 1:
        return CursorAnswer.HISTORY_REMOVED
    return CursorAnswer.OK


def history_removed(conversation_id: str, history_starts_at_seq: int) -> HistoryRemoved:
    """The answer to a cursor below ``history_starts_at_seq - 1`` (``cursor_answer``), the
    same on every path that sends history from a cursor (hello, a live catch-up, REST)."""
    return HistoryRemoved(
        f"entries of conversation {conversation_id} before seq {history_starts_at_seq} were "
        f"removed by the archiving policy; it is sent from seq {history_starts_at_seq}",
        history_starts_at_seq,
    )
