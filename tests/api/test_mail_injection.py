"""Mail header injection and forged body lines, through the public API and a real SMTP server
(aiosmtpd): what the visitor types never adds a header or a recipient to the workgroup's mail,
and never passes for one of its own lines. Checked on the raw message as the server got it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_world
from tests.smtp import Received, SmtpSink, smtp_server
from tests.support import World

from parley.domain.access import StaffRole
from parley.domain.messages import LeftMessage
from parley.mail import MESSAGE_SEPARATOR

EVE = "=?utf-8?q?Eve=0D=0ABcc:_x@evil.example?="
HEADERS = [
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "Content-Type",
    "Content-Transfer-Encoding",
    "MIME-Version",
]
FORM = {"name": "Zoe", "email": "zoe@example.com", "message": "Please call me back."}


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpSink]:
    async with smtp_server() as sink:
        yield sink


@pytest.fixture
async def mail_world(backend: str, tmp_path: Path, smtp: SmtpSink) -> AsyncIterator[World]:
    """Sales is closed by hand and mails its messages to sales@example.com through ``smtp``."""
    async for w in make_world(
        backend, tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none"
    ):
        await w.add_workgroup("sales", queue_without_agents=False)
        await w.add_staff("root", StaffRole.ADMIN)
        async with w.staff_http("root") as http:
            r = await http.put(
                "/api/v1/workgroups/sales/hours",
                json={
                    "hours": {"timezone": "UTC", "closed_by_hand": True},
                    "email": "sales@example.com",
                },
            )
            assert r.status_code == 200, r.text
        yield w


async def post(world: World, path: str, body: dict[str, Any]) -> Any:
    async with world.node.http() as http:
        return await http.post(f"/api/v1/workgroups/sales/{path}", json=body)


def fields_of(mail: Received) -> tuple[list[str], str]:
    """The body's lines before the separator (Parley's own), and the visitor's message after."""
    body = mail.message.get_content().replace("\r\n", "\n")
    own, found, message = body.partition(MESSAGE_SEPARATOR + "\n")
    assert found, body
    return own.splitlines(), message.rstrip("\n")


def assert_clean(mail: Received) -> None:
    assert mail.rcpt_tos == ["sales@example.com"]
    assert mail.header_names() == HEADERS  # no Bcc, no header of the visitor's
    for name in HEADERS:
        assert "\r" not in str(mail.message[name]) and "\n" not in str(mail.message[name])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", EVE),
        ("name", "Eve\r\nBcc: x@evil.example"),
        ("name", "Eve\u2028Bcc: x@evil.example"),
        ("name", "Eve\x85Bcc: x@evil.example"),
        ("name", "=?utf-8?b?RXZlDQpCY2M6IHhAZXZpbC5leGFtcGxl?="),  # base64, same CR LF
        ("name", "=?utf-8?q?=3D=3Futf-8=3Fq=3FEve=3D0D=3D0ABcc:_x@evil.example=3F=3D?="),
        ("email", "=?utf-8?q?x=0D=0ABcc:_y?=@evil.example"),
        ("page", "https://shop.example/\nName: Mallory\nEmail: mallory@evil.example"),
        ("page", "https://shop.example/\rName: Mallory"),
        ("page", "https://shop.example/\x1b[2J"),
        ("message", "bell \x07 here"),
    ],
)
async def test_control_characters_are_refused_naming_the_field(
    mail_world: World, smtp: SmtpSink, field: str, value: str
) -> None:
    r = await post(mail_world, "messages", {**FORM, field: value})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_input"
    assert [d["loc"] for d in error["details"]] == [["body", field]], error
    # Nothing was stored or mailed: the next mail is the next message.
    assert (await post(mail_world, "messages", FORM)).status_code == 201
    mail = await smtp.next()
    assert FORM["message"] in mail.message.get_content()
    assert smtp.received.empty()


async def test_the_visitors_message_cannot_forge_the_mails_own_lines(
    mail_world: World, smtp: SmtpSink
) -> None:
    forged = "Hello\nName: Mallory\nEmail: mallory@evil.example\n\nBcc: x@evil.example\n--\nbye"
    body = {**FORM, "name": "Zoë Ünal", "message": forged, "page": "https://shop.example/de/"}
    r = await post(mail_world, "messages", body)
    assert r.status_code == 201, r.text
    mail = await smtp.next()
    assert_clean(mail)
    assert mail.message["Reply-To"] == "Zoë Ünal <zoe@example.com>"
    assert mail.message["Subject"] == "[Sales] Message from Zoë Ünal"
    own, message = fields_of(mail)
    assert [line for line in own if line.startswith(("Name:", "Email:", "Page:"))] == [
        "Name:  Zoë Ünal",
        "Email: zoe@example.com",
        "Page:  https://shop.example/de/",
    ]
    assert message == forged  # after the separator, as written, to the end


async def test_an_encoded_word_that_decodes_to_text_is_shown_decoded(
    mail_world: World, smtp: SmtpSink
) -> None:
    r = await post(mail_world, "messages", {**FORM, "name": "=?utf-8?q?Zo=C3=AB?="})
    assert r.status_code == 201, r.text
    mail = await smtp.next()
    assert_clean(mail)
    assert mail.message["Reply-To"] == "Zoë <zoe@example.com>"
    assert "Name:  Zoë" in fields_of(mail)[0]


async def test_a_stored_message_from_before_the_check_is_mailed_safely(
    mail_world: World, smtp: SmtpSink
) -> None:
    """Rows stored before the form refused these (written straight to the database here) are
    mailed with every field on one line and no extra header or recipient."""
    world = mail_world
    now = world.clock.now()
    async with world.parley.db.write() as tx:
        wg = await world.parley.stores.workgroups.workgroup_by_slug(tx, "sales")
        assert wg is not None
        await world.parley.stores.inbox.insert_left_message(
            tx,
            LeftMessage(
                id=0,
                public_id="0" * 32,
                workgroup_id=wg.id,
                conversation_id=None,
                name=EVE,
                email="eve@example.com",
                message="hi",
                page="https://shop.example/\r\nName: Mallory\r\nEmail: mallory@evil.example",
                created_at=now,
                next_email_at=now,
            ),
        )
    world.parley.inbox.mail_waiting.set()
    mail = await smtp.next()
    assert_clean(mail)
    assert mail.message["Reply-To"] == '"Eve Bcc: x@evil.example" <eve@example.com>'
    own, message = fields_of(mail)
    assert [line for line in own if line.startswith(("Name:", "Email:", "Page:"))] == [
        "Name:  Eve Bcc: x@evil.example",
        "Email: eve@example.com",
        "Page:  https://shop.example/ Name: Mallory Email: mallory@evil.example",
    ]
    assert message == "hi"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", EVE),
        ("name", "Eve\nBcc: x"),
        ("email", "=?utf-8?q?x=0D=0A?=@evil.example"),
        ("page", "https://shop.example/\nName: Mallory"),
        ("question", "ring \x07"),
    ],
)
async def test_the_pre_chat_form_refuses_control_characters_too(
    world: World, field: str, value: str
) -> None:
    async with world.node.http() as http:
        r = await http.post("/api/v1/workgroups/sales/chats", json={"name": "Zoe", field: value})
        assert r.status_code == 422, r.text
        assert [d["loc"] for d in r.json()["error"]["details"]] == [["body", field]]
        r = await http.post(
            "/api/v1/workgroups/sales/chats",
            json={"name": "Zoe", "extra": {"order": "A-17\r\nBcc: x"}},
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"][0]["loc"][:3] == ["body", "extra", "order"]
        # A question is multi-line text.
        r = await http.post(
            "/api/v1/workgroups/sales/chats",
            json={"name": "Zoe", "question": "line one\nline two\tand a tab"},
        )
        assert r.status_code == 201, r.text


async def test_an_email_address_with_an_encoded_word_is_refused(
    mail_world: World, smtp: SmtpSink
) -> None:
    """The attack review's ``=?utf-8?q?eve=40evil.example?=@example.com`` showed in the mail as
    eve@evil.example@example.com."""
    bad = "=?utf-8?q?eve=40evil.example?=@example.com"
    for route, form in (("messages", FORM), ("chats", {"name": "Zoe"})):
        r = await post(mail_world, route, {**form, "email": bad})
        assert r.status_code == 422, r.text
        assert [d["loc"] for d in r.json()["error"]["details"]] == [["body", "email"]]
    assert smtp.received.empty()
