"""Transcript by email (issue 12): the ended chat's customer asks for it; it reaches a real
SMTP server (aiosmtpd) as plain text and escaped HTML with the opening question and every
public message, never a private note, a whisper or the back-channel; rate-limited per chat and
per address; no header injection; the address identifies nobody. Both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_world
from tests.smtp import Received, SmtpSink, smtp_server
from tests.support import World

from parley.domain import transcripts as policy
from parley.domain.access import StaffRole

SECRET = "SECRET-4242"


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpSink]:
    async with smtp_server() as sink:
        yield sink


@pytest.fixture
async def mail_world(backend: str, tmp_path: Path, smtp: SmtpSink) -> AsyncIterator[World]:
    async for w in make_world(
        backend, tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none"
    ):
        await w.add_workgroup("sales", max_chats=5)
        await w.add_staff("alice", workgroups=["sales"])
        await w.add_staff("sam", StaffRole.SUPERVISOR)
        await w.add_staff("admin", StaffRole.ADMIN)
        async with w.staff_http("admin") as http:
            r = await http.put(
                "/api/v1/admin/workgroups/sales/supervisors", json={"usernames": ["sam"]}
            )
            assert r.status_code == 200, r.text
        yield w


async def ended_chat(world: World, **form: Any) -> tuple[str, str]:
    """A chat with public messages, a private note, a whisper and a back-channel message,
    ended by the agent. Returns its id and the visitor's token."""
    async with world.agent("alice") as alice:
        chat = await world.open_chat(
            question=form.pop("question", "Where is <b>my</b> order?"), **form
        )
        cid, token = chat["conversation"]["id"], chat["visitor_token"]
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        async with world.visitor(token) as zoe, world.agent("sam", available=False) as sam:
            sends = [
                (zoe, {"client_id": "z1", "text": "Hello, it's <script>late</script>"}),
                (alice, {"client_id": "a1", "text": "Let me look.\nFrom: x@evil.example"}),
                (alice, {"client_id": "a2", "text": f"{SECRET} note", "private": True}),
            ]
            for ws, body in sends:
                reply = await ws.request({"type": "send", "conversation_id": cid, **body})
                assert reply["type"] == "ack", reply
            assert (await sam.request({"type": "monitor", "conversation_id": cid}))["type"] == "ok"
            whisper = await sam.request(
                {
                    "type": "whisper",
                    "conversation_id": cid,
                    "client_id": "w1",
                    "text": f"{SECRET} w",
                }
            )
            assert whisper["type"] == "ack", whisper
            async with world.staff_http("alice") as http:
                r = await http.post(f"/api/v1/conversations/{cid}/backchannel")
                assert r.status_code in (200, 201), r.text
                bid = r.json()["id"]
            reply = await alice.request(
                {"type": "send", "conversation_id": bid, "client_id": "b1", "text": f"{SECRET} bc"}
            )
            assert reply["type"] == "ack", reply
            reply = await alice.request(
                {
                    "type": "send",
                    "conversation_id": cid,
                    "client_id": "a3",
                    "text": "Shipped today.",
                }
            )
            assert reply["type"] == "ack"
        async with world.staff_http("alice") as http:
            assert (await http.post(f"/api/v1/conversations/{cid}/end")).status_code == 204
    return cid, token


async def ask(world: World, token: str, cid: str, email: str) -> Any:
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        return await http.post(
            f"/api/v1/conversations/{cid}/transcript-email", json={"email": email}
        )


def parts(mail: Received) -> tuple[str, str]:
    plain = mail.message.get_body(("plain",))
    html = mail.message.get_body(("html",))
    assert plain is not None and html is not None
    return str(plain.get_content()), str(html.get_content())


async def test_the_transcript_reaches_the_smtp_server_without_private_notes(
    mail_world: World, smtp: SmtpSink
) -> None:
    world = mail_world
    cid, token = await ended_chat(world, email="typed@example.com")
    r = await ask(world, token, cid, "zoe@example.com")
    assert r.status_code == 202, r.text
    mail = await smtp.next()
    assert mail.rcpt_tos == ["zoe@example.com"]
    assert str(mail.message["Subject"]) == "Your chat with Sales"
    plain, html = parts(mail)
    assert SECRET not in mail.raw.decode("utf-8", "replace")
    assert SECRET not in plain and SECRET not in html
    assert "Where is <b>my</b> order?" in plain
    assert "Hello, it's <script>late</script>" in plain
    assert "Shipped today." in plain and "Alice:" in plain and "You:" in plain
    # A message's own lines are indented: it cannot pass for a line of the transcript.
    assert "\n    From: x@evil.example" in plain
    assert "<script>" not in html and "&lt;script&gt;late&lt;/script&gt;" in html
    assert "&lt;b&gt;my&lt;/b&gt;" in html
    assert mail.header_names().count("From") == 1 and "Bcc" not in mail.header_names()


async def test_only_the_chats_visitor_once_it_ended_and_the_address_checked(
    mail_world: World, smtp: SmtpSink
) -> None:
    world = mail_world
    cid, token = await ended_chat(world)
    other = await world.open_chat()
    # Another chat's token: like a chat that does not exist.
    r = await ask(world, other["visitor_token"], cid, "zoe@example.com")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
    # Not ended yet: a conflict.
    r = await ask(world, other["visitor_token"], other["conversation"]["id"], "zoe@example.com")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "conflict"), r.text
    # Staff cannot send a chat to an address of their choosing.
    async with world.staff_http("alice") as http:
        r = await http.post(
            f"/api/v1/conversations/{cid}/transcript-email", json={"email": "eve@evil.example"}
        )
    assert r.status_code == 403, r.text
    for bad in (
        "zoe@example.com\r\nBcc: eve@evil.example",
        "=?utf-8?q?eve=40evil.example?=@example.com",
        "zoe@example.com, eve@evil.example",
        "not-an-address",
        "",
        "z" * 250 + "@example.com",
    ):
        r = await ask(world, token, cid, bad)
        assert r.status_code == 422, (bad, r.text)
    assert smtp.received.empty()
    # None of those counted: the chat still has all its requests.
    for _ in range(policy.MAX_PER_CHAT):
        assert (await ask(world, token, cid, "zoe@example.com")).status_code == 202
        await smtp.next()


async def test_rate_limited_per_chat_and_per_address(mail_world: World, smtp: SmtpSink) -> None:
    world = mail_world
    cid, token = await ended_chat(world)
    for i in range(policy.MAX_PER_CHAT):
        assert (await ask(world, token, cid, f"z{i}@example.com")).status_code == 202
        await smtp.next()
    r = await ask(world, token, cid, "zoe@example.com")
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1
    # Per address, across chats (compared without case).
    sent = 0
    while sent < policy.MAX_PER_ADDRESS:
        cid, token = await ended_chat(world)
        for _ in range(min(policy.MAX_PER_CHAT, policy.MAX_PER_ADDRESS - sent)):
            assert (await ask(world, token, cid, "Same@Example.com")).status_code == 202
            await smtp.next()
            sent += 1
    cid, token = await ended_chat(world)
    r = await ask(world, token, cid, "same@example.com")
    assert r.status_code == 429, r.text
    assert 0 < int(r.headers["Retry-After"]) <= policy.ADDRESS_WINDOW.total_seconds() + 1
    world.clock.advance(policy.ADDRESS_WINDOW.total_seconds() + 1)
    cid, token = await ended_chat(world)  # (the old chat's visitor token expired meanwhile)
    assert (await ask(world, token, cid, "same@example.com")).status_code == 202
    await smtp.next()


async def test_the_address_is_not_an_identity(mail_world: World, smtp: SmtpSink) -> None:
    """Two browsers sending their transcripts to one address are still two customers."""
    world = mail_world
    first, t1 = await ended_chat(world)
    second, t2 = await ended_chat(world)
    for cid, token in ((first, t1), (second, t2)):
        assert (await ask(world, token, cid, "shared@example.com")).status_code == 202
        await smtp.next()
    async with world.staff_http("alice") as http:
        r = await http.get(f"/api/v1/conversations/{first}/customer")
    assert r.status_code == 200 and r.json() == []


async def test_no_mail_configured_is_a_clear_refusal(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        chat = await world.open_chat()
        cid = chat["conversation"]["id"]
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        async with world.staff_http("alice") as http:
            assert (await http.post(f"/api/v1/conversations/{cid}/end")).status_code == 204
    r = await ask(world, chat["visitor_token"], cid, "zoe@example.com")
    assert r.status_code == 409, r.text
    assert r.json()["error"] == {
        "code": "unavailable",
        "message": "transcripts by email are not available here",
        "details": {"reason": "mail"},
    }
