"""The attachment checks, pure: names, sizes, types told by their bytes, the policy an admin
sets, the entry an attachment makes, and the Content-Disposition it is served with."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parley.domain import attachments as a
from parley.domain import conversation as c
from parley.domain.conversation import Participant, Role
from parley.domain.errors import Forbidden, InvalidInput

NOW = datetime(2026, 12, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    "name", ["../x", "a/b", "a\\b", "..", ".", "a\x00b", "a\tb", "a\u2028x", " "]
)
def test_a_path_or_a_control_character_in_the_name_is_refused(name: str) -> None:
    with pytest.raises(a.BadFileName):
        a.check_name(name)


def test_a_good_name_is_kept_as_written() -> None:
    assert a.check_name("  Rechnung März.pdf ") == "Rechnung März.pdf"
    assert a.check_name(".profile") == ".profile"
    with pytest.raises(a.BadFileName):
        a.check_name("x" * (a.MAX_NAME_CHARS + 1))


def test_sizes() -> None:
    policy = a.Policy(max_bytes=10)
    a.check_size(10, policy)
    with pytest.raises(a.AttachmentTooLarge) as too_large:
        a.check_size(11, policy)
    assert too_large.value.max_bytes == 10
    with pytest.raises(a.EmptyAttachment):
        a.check_size(0, policy)


def test_the_declared_type_must_be_what_the_bytes_are() -> None:
    policy = a.Policy()
    assert a.check_type("IMAGE/PNG; x=y", b"\x89PNG\r\n\x1a\n....", policy) == "image/png"
    assert a.check_type("text/plain", "ä\n".encode(), policy) == "text/plain"
    for declared, data in [
        ("image/png", b"\xff\xd8\xff\xe0"),
        ("image/jpeg", b"GIF89a"),
        ("application/pdf", b"<html>"),
        ("text/plain", b"\xff\xfe"),
        ("text/plain", b"a\x00b"),
        ("text/plain", b"%PDF-1.7"),
    ]:
        with pytest.raises(a.TypeMismatch):
            a.check_type(declared, data, policy)
    with pytest.raises(a.TypeNotAllowed):
        a.check_type("text/html", b"<p>", policy)
    with pytest.raises(a.TypeNotAllowed):
        a.check_type("image/png", b"\x89PNG\r\n\x1a\n", a.Policy(allowed_types=("text/plain",)))


def test_a_policy_allows_only_types_parley_can_check() -> None:
    checked = a.check_policy(100, ["image/PNG", "image/png", "text/plain"], 3, ceiling=1000)
    assert checked == a.Policy(100, ("image/png", "text/plain"), 3)
    for bad in [(0, [], 1), (1001, [], 1), (10, ["image/svg+xml"], 1), (10, [], -1)]:
        with pytest.raises(InvalidInput):
            a.check_policy(*bad, ceiling=1000)
    assert a.default_policy(5).max_bytes == 5


def test_too_many_files() -> None:
    a.check_count(1, a.Policy(max_per_chat=2))
    with pytest.raises(a.TooManyAttachments):
        a.check_count(2, a.Policy(max_per_chat=2))


def test_an_attachment_is_a_message_or_a_note() -> None:
    conv, _ = c.open_customer_chat("c1", 1, "Zoe", {}, NOW)
    agent = Participant("user:1", Role.AGENT, "Alice", NOW, user_id=1)
    conv, _ = c.join(conv, agent, NOW)
    body = {"id": "f", "name": "x.png", "media_type": "image/png", "size": 3, "image": True}
    after, entry = a.post_attachment(conv, "visitor", body, "k1", NOW)
    assert entry.kind is c.EntryKind.MESSAGE and entry.seq == conv.last_seq + 1
    assert entry.body == {"text": "x.png", "attachment": body}
    assert after.last_seq == entry.seq
    _, note = a.post_attachment(conv, "user:1", body, "k2", NOW, private=True)
    assert note.kind is c.EntryKind.NOTE
    with pytest.raises(Forbidden):
        a.post_attachment(conv, "visitor", body, "k3", NOW, private=True)


def test_the_content_disposition_has_an_ascii_and_an_exact_name() -> None:
    assert a.content_disposition('a "b"; ü.txt') == (
        "attachment; filename=\"a _b__ _.txt\"; filename*=UTF-8''a%20%22b%22%3B%20%C3%BC.txt"
    )
