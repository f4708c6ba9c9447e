"""Typed domain errors.

Each error carries a stable machine-readable ``code``; the web layer maps codes to HTTP statuses
and WebSocket error frames (see ``docs/protocol.md``). Nothing here knows about HTTP.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a request that cannot be carried out. State is left unchanged."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class InvalidInput(DomainError):
    code = "invalid_input"


class TooLong(InvalidInput):
    code = "too_long"


class BadPattern(InvalidInput):
    """A routing rule's ``matches`` pattern that RE2 cannot run (a backreference, lookaround,
    ...) or that does not parse. ``where`` is its place in the condition
    (``condition.all[1].value``), ``reason`` why; ``rule`` the rule's index, once known."""

    code = "bad_pattern"

    def __init__(self, message: str, *, where: str, reason: str, rule: int | None = None) -> None:
        super().__init__(message)
        self.where = where
        self.reason = reason
        self.rule = rule


class Conflict(DomainError):
    """The request contradicts the current state (ended chat, stale offer, ...)."""

    code = "conflict"


class OfferGone(Conflict):
    """The offer was withdrawn, expired, declined or already accepted."""

    code = "offer_gone"


class InvitationGone(Conflict):
    """The invitation was accepted, declined, cancelled, timed out, or is not yours."""

    code = "invitation_gone"


class OverCapacity(Conflict):
    code = "over_capacity"


class CursorOutOfRange(DomainError):
    """A client claims to have seen events that do not exist."""

    code = "cursor_out_of_range"


class HistoryRemoved(DomainError):
    """A cursor points into history the archiving policy removed (``domain.retention``):
    what is kept is sent, from ``first_seq``."""

    code = "history_removed"

    def __init__(self, message: str, first_seq: int) -> None:
        super().__init__(message)
        self.first_seq = first_seq


class Unavailable(Conflict):
    """Nobody can take a new chat now; the visitor is asked to leave a message instead.

    ``reason``: ``closed`` (outside business hours, on a holiday, or closed by hand),
    ``no_agents`` (nobody available), ``queue_full`` (the chosen queue is at its maximum).
    """

    code = "unavailable"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class RateLimited(DomainError):
    """Too many requests of one kind: try again in ``retry_after`` seconds (at least 1).

    Nothing was done; the same request may simply be sent again after that wait.
    """

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class InvalidIdentity(Unauthenticated):
    """An identity token that does not verify: bad signature, unknown ``kid``, expired,
    another algorithm, malformed. Never taken for an anonymous chat."""

    code = "invalid_identity"


class IdentityRequired(Unauthenticated):
    """The workgroup accepts only verified customers, and no identity token came."""

    code = "identity_required"


class BlockedWord(InvalidInput):
    """A house rule refuses the message (``domain.wordfilter``): nothing was stored. ``reason``
    is the rule's, ``words`` what matched as written, ``rule`` the rule's id."""

    code = "blocked_word"

    def __init__(self, message: str, *, rule: int, reason: str, words: tuple[str, ...]) -> None:
        super().__init__(message)
        self.rule = rule
        self.reason = reason
        self.words = words


class BlockedWordWarning(BlockedWord):
    """A house rule asks the sender first: nothing was stored; the same send with ``confirm``
    goes through (or the sender rephrases)."""

    code = "blocked_word_warning"


class BadImage(InvalidInput):
    """An uploaded photo is not a PNG, JPEG, WebP or GIF image that decodes (by its content,
    whatever its name or declared type), or it has too many pixels."""

    code = "bad_image"


class TwoFactorFailed(Unauthenticated):
    """A wrong two-factor code, one used before, or a wrong recovery code: the same answer
    for each."""

    code = "two_factor_failed"


class TwoFactorEnrolmentRequired(Unauthenticated):
    """The account policy requires two-factor sign-in and this account has not enrolled: its
    session may only enrol (``POST /api/v1/me/2fa``)."""

    code = "two_factor_enrolment_required"


class MonitorReadOnly(Forbidden):
    """A supervisor watching a chat (silent monitoring) tried to write in it: monitoring is
    read-only. Whisper to the agents, or barge in to write to the customer."""

    code = "monitor_read_only"


class InternalOnly(Forbidden):
    """The company's network is internal-only: no guest is invited or signs in."""

    code = "internal_only"


class LowContrast(InvalidInput):
    """A workgroup's brand colour is too light for the white text the widget puts on it (its
    header, buttons and the visitor's messages): below WCAG's 4.5:1 for normal text."""

    code = "low_contrast"

    def __init__(self, message: str, *, ratio: float, minimum: float, against: str) -> None:
        super().__init__(message)
        self.ratio = ratio
        self.minimum = minimum
        self.against = against


class InvalidHiddenField(InvalidInput):
    """A hidden field the host page passed with a chat request breaks a limit (how many, the
    key's pattern, the value's length or characters); ``field`` names it."""

    code = "invalid_hidden_field"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class StorageUnavailable(DomainError):
    """The storage that keeps attachments' bytes (an S3-compatible bucket) did not answer, or
    refused: nothing was stored (no entry, no row). The same request may be sent again later;
    ``retry_after`` is a hint in seconds."""

    code = "storage_unavailable"

    def __init__(self, message: str, retry_after: int = 30) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
