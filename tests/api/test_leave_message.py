"""Leave a message, through the public API: business hours and availability in the status,
refused chats, the message stored, emailed through a real SMTP server (aiosmtpd) and shown in
the inbox live; permissions, bad input, and SMTP being down (kept, sent on retry)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_world
from tests.smtp import SmtpSink, free_port, smtp_server
from tests.support import World

from parley.domain.access import StaffRole

#: The FakeClock starts on Monday 5 January 2026, 09:00 UTC: 04:00 in New York.
NEW_YORK_OFFICE = {
    "timezone": "America/New_York",
    "weekly": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2026-01-19"],
    "closed_by_hand": False,
}
FORM = {"name": "Zoe", "email": "zoe@example.com", "message": "Please call me back."}


def error_of(r: Any) -> dict[str, Any]:
    return dict(r.json()["error"])


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpSink]:
    async with smtp_server() as sink:
        yield sink


@pytest.fixture
async def mail_world(backend: str, tmp_path: Path, smtp: SmtpSink) -> AsyncIterator[World]:
    """A node that mails through ``smtp``; workgroups sales (emailing sales@example.com, New
    York office hours, so closed now) and support; alice and bob in sales, carol in support."""
    async for w in make_world(
        backend, tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none"
    ):
        await w.add_workgroup("sales", queue_without_agents=False)
        await w.add_workgroup("support", queue_without_agents=False)
        await w.add_staff("root", StaffRole.ADMIN)
        await w.add_staff("sam", StaffRole.SUPERVISOR)
        await w.add_staff("alice", workgroups=["sales"])
        await w.add_staff("bob", workgroups=["sales"])
        await w.add_staff("carol", workgroups=["support"])
        async with w.staff_http("root") as http:
            r = await http.put(
                "/api/v1/workgroups/sales/hours",
                json={"hours": NEW_YORK_OFFICE, "email": "sales@example.com"},
            )
            assert r.status_code == 200, r.text
        yield w


async def leave(world: World, slug: str = "sales", **form: Any) -> Any:
    async with world.node.http() as http:
        return await http.post(f"/api/v1/workgroups/{slug}/messages", json={**FORM, **form})


async def test_closed_workgroup_takes_a_message_emails_it_and_shows_it_live(
    mail_world: World, smtp: SmtpSink
) -> None:
    world = mail_world
    async with world.node.http() as http:
        status = (await http.get("/api/v1/workgroups/sales/status")).json()
        assert (status["accepting"], status["reason"]) == (False, "closed")
        assert status["next_open"] == "2026-01-05T14:00:00Z"  # 09:00 in New York
        r = await http.post("/api/v1/workgroups/sales/chats", json={"name": "Zoe"})
        assert r.status_code == 409, r.text
        assert error_of(r)["code"] == "unavailable"
        assert error_of(r)["details"] == {"reason": "closed"}

    async with world.agent("alice", available=False) as alice:
        r = await leave(world, page="https://shop.example/bikes")
        assert r.status_code == 201, r.text
        message_id = r.json()["id"]
        note = (await alice.expect_type("left_message"))["message"]
        assert note["id"] == message_id
        assert (note["name"], note["status"], note["workgroup"]) == ("Zoe", "new", "sales")

        mail = await smtp.next()
        assert mail.rcpt_tos == ["sales@example.com"]
        assert mail.message["To"] == "sales@example.com"
        assert mail.message["Reply-To"] == "Zoe <zoe@example.com>"
        assert mail.message["Subject"] == "[Sales] Message from Zoe"
        body = mail.message.get_content()
        assert "Please call me back." in body and "https://shop.example/bikes" in body
        emailed = (await alice.expect_type("left_message"))["message"]
        assert emailed["emailed_at"] is not None and emailed["email_attempts"] == 1

    async with world.staff_http("alice") as http:
        listed = (await http.get("/api/v1/workgroups/sales/messages")).json()
        assert [m["id"] for m in listed] == [message_id]
        assert listed[0]["message"] == "Please call me back."
        assert (await http.get("/api/v1/messages", params={"status": "done"})).json() == []

    # At 09:00 in New York the workgroup opens, but nobody is available yet.
    world.clock.advance(5 * 3600)
    async with world.node.http() as http:
        status = (await http.get("/api/v1/workgroups/sales/status")).json()
        assert (status["accepting"], status["reason"], status["next_open"]) == (
            False,
            "no_agents",
            None,
        )
        r = await http.post("/api/v1/workgroups/sales/chats", json={"name": "Zoe"})
        assert error_of(r)["details"] == {"reason": "no_agents"}
    async with world.agent("alice"), world.node.http() as http:
        status = (await http.get("/api/v1/workgroups/sales/status")).json()
        assert (status["accepting"], status["reason"], status["open"]) == (True, None, True)
        r = await http.post("/api/v1/workgroups/sales/chats", json={"name": "Zoe"})
        assert r.status_code == 201, r.text


async def test_take_and_done_with_permissions(mail_world: World, smtp: SmtpSink) -> None:
    world = mail_world
    message_id = (await leave(world)).json()["id"]
    other = (await leave(world, "support", name="Yan")).json()["id"]
    await smtp.next()  # only sales has an address: one mail

    async with world.node.http() as anonymous:
        r = await anonymous.get("/api/v1/workgroups/sales/messages")
        assert r.status_code == 401, r.text
        r = await anonymous.post(f"/api/v1/messages/{message_id}/take")
        assert r.status_code == 401, r.text
    async with world.staff_http("carol") as carol:
        r = await carol.get("/api/v1/workgroups/sales/messages")
        assert (r.status_code, error_of(r)["code"]) == (403, "forbidden")
        # Another workgroup's message reads exactly like one that does not exist.
        nowhere = await carol.post(f"/api/v1/messages/{'0' * 32}/take")
        assert (nowhere.status_code, error_of(nowhere)["code"]) == (404, "not_found")
        for action in ("take", "done"):
            r = await carol.post(f"/api/v1/messages/{message_id}/{action}")
            assert (r.status_code, r.json()) == (nowhere.status_code, nowhere.json())
        mine = (await carol.get("/api/v1/messages")).json()
        assert [m["id"] for m in mine] == [other]

    async with world.staff_http("alice") as alice, world.staff_http("bob") as bob:
        r = await alice.post(f"/api/v1/messages/{message_id}/take")
        assert r.status_code == 200, r.text
        taken = r.json()
        assert (taken["status"], taken["taken_by_name"]) == ("taken", "Alice")
        r = await bob.post(f"/api/v1/messages/{message_id}/take")
        assert (r.status_code, error_of(r)["code"]) == (409, "conflict")
        r = await bob.post(f"/api/v1/messages/{message_id}/done")
        assert (r.status_code, error_of(r)["code"]) == (409, "conflict")
        listed = (await bob.get("/api/v1/messages", params={"status": "taken"})).json()
        assert [m["id"] for m in listed] == [message_id]
        r = await alice.post(f"/api/v1/messages/{message_id}/done")
        assert r.json()["status"] == "done"
        r = await alice.post(f"/api/v1/messages/{message_id}/done")  # again: no-op
        assert r.status_code == 200 and r.json()["status"] == "done"
        for unknown in ("999999", "1", "2", "0" * 32, "x" * 64):
            r = await alice.post(f"/api/v1/messages/{unknown}/take")
            assert r.status_code == 404, r.text
        r = await alice.post(f"/api/v1/messages/{'x' * 65}/take")
        assert r.status_code == 422, r.text

    # A supervisor sees every workgroup and may finish what an agent took.
    async with world.staff_http("carol") as carol:
        assert (await carol.post(f"/api/v1/messages/{other}/take")).status_code == 200
    async with world.staff_http("sam") as sam:
        listed = (await sam.get("/api/v1/messages")).json()
        assert sorted(m["id"] for m in listed) == sorted([message_id, other])
        r = await sam.post(f"/api/v1/messages/{other}/done")
        assert r.json()["status"] == "done" and r.json()["taken_by_name"] == "Carol"


async def test_bad_input_is_refused(mail_world: World) -> None:
    world = mail_world
    for bad in [
        {"email": "not-an-address"},
        {"email": "zoe@example.com\r\nBcc: all@example.com"},
        {"name": ""},
        {"name": "   "},
        {"message": ""},
        {"message": "   "},
        {"message": "x" * 4001},
        {"name": "x" * 129},
        {"page": "x" * 2049},
        {"message": "nul \x00 here"},
        {"message": "lone \ud800 surrogate"},
        {"extra": "field"},
    ]:
        async with world.node.http() as http:
            body = {**FORM, **bad}
            r = await http.post(
                "/api/v1/workgroups/sales/messages",
                content=_json(body),
                headers={"Content-Type": "application/json"},
            )
            assert r.status_code == 422, (bad, r.text)
    r = await leave(world, "nowhere")
    assert r.status_code == 404, r.text
    async with world.node.http(headers={"X-Visitor-Token": "forged"}) as http:
        r = await http.post("/api/v1/workgroups/sales/messages", json=FORM)
        assert r.status_code == 401, r.text

    async with world.staff_http("root") as root, world.staff_http("sam") as sam:
        r = await sam.put("/api/v1/workgroups/sales/hours", json={"hours": None})
        assert r.status_code == 403, r.text
        assert (await sam.get("/api/v1/workgroups/sales/hours")).status_code == 403
        for hours, says in [
            ({"timezone": "Mars/Olympus"}, "unknown time zone"),
            ({"timezone": "UTC", "weekly": {"mon": ["22:00-02:00"]}}, "cross midnight"),
            ({"timezone": "UTC", "weekly": {"mon": ["09:00-12:00", "11:00-13:00"]}}, "overlap"),
            ({"timezone": "UTC", "holidays": ["tomorrow"]}, "YYYY-MM-DD"),
        ]:
            r = await root.put("/api/v1/workgroups/sales/hours", json={"hours": hours})
            assert r.status_code == 422, r.text
            assert says in error_of(r)["message"], r.text
        r = await root.put("/api/v1/workgroups/sales/hours", json={"email": "nope"})
        assert r.status_code == 422, r.text
        r = await root.put(
            "/api/v1/workgroups/sales/hours", json={"hours": {"weekly": {"funday": []}}}
        )
        assert r.status_code == 422, r.text
        # What is stored comes back as it was given.
        r = await root.get("/api/v1/workgroups/sales/hours")
        assert r.json() == {
            "hours": NEW_YORK_OFFICE,
            "email": "sales@example.com",
            "queue_without_agents": False,
        }


def _json(body: dict[str, Any]) -> bytes:
    # ensure_ascii keeps a lone surrogate as the escape "\ud800", as a hostile client sends it.
    return json.dumps(body, ensure_ascii=True).encode()


async def test_a_message_after_an_expired_chat_links_to_it(world: World) -> None:
    # The world's sales lets visitors queue without agents; the wait times out after 300 s.
    chat = await world.open_chat(name="Zoe", email="zoe@example.com")
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    async with world.visitor(token) as zoe:
        world.clock.advance(300)
        await zoe.expect_type("queue", status="expired")
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        r = await http.post("/api/v1/workgroups/sales/messages", json=FORM)
        assert r.status_code == 201, r.text
    await world.add_workgroup("support")
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        r = await http.post("/api/v1/workgroups/support/messages", json=FORM)
        assert r.status_code == 403, r.text
    await world.add_staff("alice", workgroups=["sales"])
    async with world.staff_http("alice") as http:
        (left,) = (await http.get("/api/v1/workgroups/sales/messages")).json()
    assert left["conversation_id"] == cid
    # Mail is not configured on this node: the message is in the inbox, nothing was tried.
    assert (left["emailed_at"], left["email_attempts"]) == (None, 0)


async def test_smtp_down_keeps_the_message_and_sends_it_on_retry(
    backend: str, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there yet: the first attempt is refused
    async for world in make_world(
        backend, tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none"
    ):
        await world.add_workgroup("sales", queue_without_agents=False)
        await world.add_staff("root", StaffRole.ADMIN)
        await world.add_staff("alice", workgroups=["sales"])
        async with world.staff_http("root") as http:
            r = await http.put(
                "/api/v1/workgroups/sales/hours",
                json={"hours": {"timezone": "UTC", "closed_by_hand": True}, "email": "s@ex.com"},
            )
            assert r.status_code == 200, r.text
        async with world.agent("alice", available=False) as alice:
            r = await leave(world)
            assert r.status_code == 201, r.text
            failed = await alice.expect(
                lambda m: m.get("type") == "left_message" and m["message"]["email_attempts"] == 1
            )
            assert failed["message"]["emailed_at"] is None
            assert failed["message"]["last_email_error"]
            async with world.staff_http("alice") as http:
                (kept,) = (await http.get("/api/v1/messages")).json()
            assert kept["message"] == FORM["message"]

            async with smtp_server(port) as smtp:
                world.clock.advance(30)  # the first retry is due 30 s after the failure
                mail = await smtp.next()
                assert mail.rcpt_tos == ["s@ex.com"]
                assert FORM["message"] in mail.message.get_content()
                sent = await alice.expect(
                    lambda m: (
                        m.get("type") == "left_message" and m["message"]["emailed_at"] is not None
                    )
                )
                assert sent["message"]["email_attempts"] == 2
                assert sent["message"]["last_email_error"] is None


async def test_messages_have_public_ids_that_cannot_be_counted(
    mail_world: World, smtp: SmtpSink
) -> None:
    """The receipt, the listing, the live notification and the routes use a random public id:
    the sequential key of the table appears nowhere."""
    world = mail_world
    async with world.agent("alice", available=False) as alice:
        # Three senders: one sender's second and third email would wait for the email limit.
        receipts = [
            (await leave(world, message=f"number {n}", email=f"zoe{n}@example.com")).json()
            for n in range(3)
        ]
        ids = [r["id"] for r in receipts]
        noted: set[str] = set()
        while noted != set(ids):  # each is noted when left, and again when emailed
            note = (await alice.expect_type("left_message"))["message"]
            assert note["id"] in ids
            noted.add(note["id"])
    assert len(set(ids)) == 3
    assert all(isinstance(i, str) and len(i) == 32 and int(i, 16) >= 0 for i in ids)
    async with world.staff_http("alice") as http:
        listed = (await http.get("/api/v1/workgroups/sales/messages")).json()
        assert [m["id"] for m in listed] == ids[::-1]  # newest first
        r = await http.post(f"/api/v1/messages/{ids[1]}/take")
        assert (r.status_code, r.json()["id"]) == (200, ids[1])
        for internal in ("1", "2", "3"):
            assert (await http.post(f"/api/v1/messages/{internal}/done")).status_code == 404
    for _ in range(3):
        await smtp.next()
