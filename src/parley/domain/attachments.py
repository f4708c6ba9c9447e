"""Attachments: files a visitor or an agent sends in a customer chat, under its workgroup's
policy (``Policy``: the largest file, the types allowed, how many per chat).

An attachment is a message (or, from staff, a private note) whose body carries an
``attachment`` object beside its ``text`` (the file's name): it takes the next ``seq``, is
idempotent by its ``client_id`` and travels with resume, history and transcripts like any
message; a client that knows nothing of attachments shows the name. Whoever may not see the
entry (a visitor, a note's) may not fetch the file either (``access.can_read_attachment``).

Everything a client says about a file is checked here before anything is stored: its name
(``check_name``: no path, no control character), its size (``check_size``: not empty, within the
policy), and its type (``check_type``): the declared type must be allowed and must be what the
bytes are (``sniff``, by their signature). Images are then re-encoded by the service
(``parley.photos.reencode_attachment``), so that only decoded pixels are ever served.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from parley.domain import conversation as conv_policy
from parley.domain.conversation import Conversation, Entry, Kind
from parley.domain.errors import Conflict, DomainError, Forbidden, InvalidInput

#: A workgroup's largest file unless its admin says otherwise.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
#: How many files one chat may hold unless its admin says otherwise.
DEFAULT_MAX_PER_CHAT = 20
#: The most a policy may allow per chat.
MAX_PER_CHAT_CEILING = 1000
MAX_NAME_CHARS = 200
PNG, JPEG, GIF, WEBP = "image/png", "image/jpeg", "image/gif", "image/webp"
PDF, TEXT = "application/pdf", "text/plain"
IMAGE_TYPES = (PNG, JPEG, GIF, WEBP)
#: The types Parley can verify by their content: a policy allows some of these, never others.
KNOWN_TYPES = (*IMAGE_TYPES, PDF, TEXT)


class AttachmentTooLarge(DomainError):
    """The file is larger than the workgroup allows (HTTP 413, ``details.max_bytes``)."""

    code = "attachment_too_large"

    def __init__(self, message: str, max_bytes: int) -> None:
        super().__init__(message)
        self.max_bytes = max_bytes


class EmptyAttachment(InvalidInput):
    code = "empty_attachment"


class BadFileName(InvalidInput):
    """A name with a path in it (``/``, ``\\``, ``..``), a NUL or another control character,
    empty, or too long."""

    code = "bad_file_name"


class TypeNotAllowed(InvalidInput):
    code = "type_not_allowed"


class TypeMismatch(InvalidInput):
    """The declared type is not what the bytes are (``details``: declared, detected)."""

    code = "type_mismatch"

    def __init__(self, message: str, declared: str, detected: str | None) -> None:
        super().__init__(message)
        self.declared = declared
        self.detected = detected


class TooManyAttachments(Conflict):
    code = "too_many_attachments"


@dataclass(frozen=True, slots=True)
class Policy:
    max_bytes: int = DEFAULT_MAX_BYTES
    allowed_types: tuple[str, ...] = KNOWN_TYPES
    max_per_chat: int = DEFAULT_MAX_PER_CHAT


def default_policy(ceiling: int) -> Policy:
    """The policy of a workgroup whose admin set none, within the node's ``ceiling``."""
    return Policy(max_bytes=min(DEFAULT_MAX_BYTES, ceiling))


def check_policy(
    max_bytes: int, allowed_types: list[str], max_per_chat: int, ceiling: int
) -> Policy:
    """An admin's policy, or ``InvalidInput``: a size from 1 byte to the node's ``ceiling``
    (the ``max_attachment_bytes`` setting), types among ``KNOWN_TYPES`` (none: attachments are
    off), 0 to ``MAX_PER_CHAT_CEILING`` files per chat (0: off)."""
    if not 1 <= max_bytes <= ceiling:
        raise InvalidInput(f"max_bytes must be 1 to {ceiling} (the node's max_attachment_bytes)")
    if not 0 <= max_per_chat <= MAX_PER_CHAT_CEILING:
        raise InvalidInput(f"max_per_chat must be 0 to {MAX_PER_CHAT_CEILING}")
    types: list[str] = []
    for t in allowed_types:
        media = normal_type(t)
        if media not in KNOWN_TYPES:
            raise InvalidInput(
                f"{t!r} is not a type Parley can check; allowed: {', '.join(KNOWN_TYPES)}"
            )
        if media not in types:
            types.append(media)
    return Policy(max_bytes, tuple(types), max_per_chat)


def normal_type(declared: str) -> str:
    """``image/PNG; charset=x`` is ``image/png``."""
    return declared.split(";", 1)[0].strip().lower()


def check_name(name: str) -> str:
    """The file's name as stored: NFC, without surrounding spaces. A path (``/``, ``\\``, a
    name of dots alone), a NUL or any control character is refused, not cleaned: the sender
    is told, and nothing is stored."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise BadFileName("a file needs a name")
    if len(name) > MAX_NAME_CHARS:
        raise BadFileName(f"a file name is at most {MAX_NAME_CHARS} characters")
    if "/" in name or "\\" in name or name.strip(".") == "":
        raise BadFileName("a file name may not contain a path (/, \\ or a name of dots)")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise BadFileName("a file name may not contain control characters")
    return name


def check_size(size: int, policy: Policy) -> None:
    if size > policy.max_bytes:
        raise AttachmentTooLarge(
            f"a file is at most {policy.max_bytes} bytes here", policy.max_bytes
        )
    if size <= 0:
        raise EmptyAttachment("the file is empty")


def sniff(data: bytes) -> str | None:
    """What the bytes are, by their signature: one of the image types or PDF; None for
    anything else (text has no signature)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text)


def check_type(declared: str, data: bytes, policy: Policy) -> str:
    """The file's type: the declared one, if the policy allows it and the bytes are it (a
    ``text/plain`` file is UTF-8 without control characters and no known signature)."""
    media = normal_type(declared)
    if media not in policy.allowed_types:
        allowed = ", ".join(policy.allowed_types) or "none"
        raise TypeNotAllowed(f"files of type {media or '(none)'} are not allowed here: {allowed}")
    detected = sniff(data)
    if media == TEXT:
        if detected is None and _is_text(data):
            return media
        raise TypeMismatch(
            f"the file is declared {media} but is not UTF-8 text", media, detected or "binary"
        )
    if detected != media:
        raise TypeMismatch(
            f"the file is declared {media} but its content is {detected or 'something else'}",
            media,
            detected,
        )
    return media


def check_count(count: int, policy: Policy) -> None:
    """``count``: the files the chat holds already."""
    if count >= policy.max_per_chat:
        raise TooManyAttachments(
            f"this chat holds its {policy.max_per_chat} files already"
            if policy.max_per_chat
            else "files are not accepted in this workgroup's chats"
        )


def require_attachable(conv: Conversation) -> None:
    if conv.kind is not Kind.CUSTOMER_CHAT:
        raise Forbidden("files are for customer chats")


def post_attachment(
    conv: Conversation,
    author: str,
    attachment: dict[str, Any],
    client_id: str,
    now: datetime,
    *,
    private: bool = False,
) -> tuple[Conversation, Entry]:
    """Append a message (a private note with ``private``) that carries ``attachment`` (its
    ``name`` is the text too): the same checks as any message or note."""
    require_attachable(conv)
    post = conv_policy.post_note if private else conv_policy.post_message
    name = str(attachment["name"])
    conv, entry = post(conv, author, name, client_id, now, max(len(name), 1))
    return conv, replace(entry, body={"text": name, "attachment": dict(attachment)})


def attachment_of(entry: Entry) -> dict[str, Any] | None:
    found = entry.body.get("attachment")
    return found if isinstance(found, dict) else None


def ascii_fallback(name: str) -> str:
    """The name for ``filename=``: ASCII without quotes or backslashes."""
    out = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;%' else "_" for c in name)
    return out or "file"


def content_disposition(name: str) -> str:
    """``attachment`` with the name twice: ASCII for old clients, RFC 5987 UTF-8 for the rest."""
    fallback = ascii_fallback(name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
