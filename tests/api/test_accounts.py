"""Accounts through the public API: two-factor sign-in (TOTP, replay, limits, recovery codes,
the policy that requires it), guests and the internal-only network, staff email domains, and
the audit rows every change of policy, role or account writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pyotp
import pytest
from tests.conftest import make_world
from tests.smtp import SmtpSink, smtp_server
from tests.support import PASSWORD, World

from parley.domain.access import StaffRole

LOGIN = "/api/v1/auth/login"
SECOND = "/api/v1/auth/login/2fa"
POLICY = "/api/v1/admin/account-policy"
AUDIT = "/api/v1/admin/audit"


async def login(world: World, username: str, password: str = PASSWORD) -> httpx.Response:
    async with world.node.http() as http:
        return await http.post(LOGIN, json={"username": username, "password": password})


async def second(world: World, body: dict[str, Any]) -> httpx.Response:
    async with world.node.http() as http:
        return await http.post(SECOND, json=body)


def code_now(world: World, secret: str) -> str:
    return str(pyotp.TOTP(secret).at(world.clock.now()))


async def enrol(world: World, username: str) -> tuple[str, list[str]]:
    """Enrol ``username`` (logged in already): (secret, recovery codes)."""
    async with world.staff_http(username) as http:
        r = await http.post("/api/v1/me/2fa")
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        assert r.json()["otpauth_uri"].startswith("otpauth://totp/Parley:")
        r = await http.post("/api/v1/me/2fa/confirm", json={"code": code_now(world, secret)})
        assert r.status_code == 200, r.text
        codes = r.json()["recovery_codes"]
    return secret, codes


async def audit(world: World, admin: str, **params: str) -> list[dict[str, Any]]:
    async with world.staff_http(admin) as http:
        r = await http.get(AUDIT, params=params)
        assert r.status_code == 200, r.text
        return list(r.json())


async def test_two_factor_sign_in(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice")
    async with world.staff_http("alice") as http:
        r = await http.post("/api/v1/me/2fa")
        secret = r.json()["secret"]
        # A wrong first code turns nothing on.
        r = await http.post("/api/v1/me/2fa/confirm", json={"code": "000000"})
        assert r.status_code == 422, r.text
        first = code_now(world, secret)
        r = await http.post("/api/v1/me/2fa/confirm", json={"code": first})
        assert r.status_code == 200, r.text
        recovery = r.json()["recovery_codes"]
        assert len(recovery) == 10
        r = await http.get("/api/v1/me/2fa")
        assert r.json() == {"enabled": True, "required": False, "recovery_codes_left": 10}
        # Once on, the secret is never shown again.
        r = await http.post("/api/v1/me/2fa")
        assert r.status_code == 409
    # Step one gives a pending token, no session.
    r = await login(world, "alice")
    assert r.status_code == 200, r.text
    assert r.json()["two_factor_required"] is True and "parley_session" not in r.cookies
    pending = r.json()["pending_token"]
    # The enrolment's own code was used: refused again within its window.
    r = await second(world, {"pending_token": pending, "code": first})
    assert r.status_code == 401 and r.json()["error"]["code"] == "two_factor_failed"
    r = await second(world, {"pending_token": pending, "code": "123456x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "two_factor_failed"
    r = await second(world, {"pending_token": pending + "x", "code": "123456"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    world.clock.advance(30)
    code = code_now(world, secret)
    r = await second(world, {"pending_token": pending, "code": code})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["username"] == "alice" and "parley_session" in r.cookies
    # The same code, a second time (a replay): refused.
    pending = (await login(world, "alice")).json()["pending_token"]
    r = await second(world, {"pending_token": pending, "code": code})
    assert r.status_code == 401 and r.json()["error"]["code"] == "two_factor_failed"
    # A recovery code works once.
    r = await second(world, {"pending_token": pending, "recovery_code": recovery[0].upper()})
    assert r.status_code == 200, r.text
    r = await second(world, {"pending_token": pending, "recovery_code": recovery[0]})
    assert r.status_code == 401
    # A pending sign-in expires.
    world.clock.advance(301)
    r = await second(world, {"pending_token": pending, "recovery_code": recovery[1]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    r = await second(world, {"pending_token": pending})
    assert r.status_code == 422
    rows = await audit(world, "root", action="account.2fa_enrolled")
    assert [row["subject"] for row in rows] == [f"user:{world.user_ids['alice']}"]

    # An admin resets it (a lost phone): a password alone signs in again.
    async with world.staff_http("root") as http:
        r = await http.delete("/api/v1/admin/users/alice/2fa")
        assert r.status_code == 204, r.text
        users = {u["username"]: u for u in (await http.get("/api/v1/admin/users")).json()}
        assert users["alice"]["two_factor"] is False
    r = await login(world, "alice")
    assert r.status_code == 200 and "parley_session" in r.cookies
    assert [r["actor"] for r in await audit(world, "root", action="account.2fa_reset")] == [
        f"staff:{world.user_ids['root']}"
    ]


async def test_two_factor_codes_are_rate_limited(world: World) -> None:
    await world.add_staff("alice")
    secret, _ = await enrol(world, "alice")
    world.clock.advance(30)
    pending = (await login(world, "alice")).json()["pending_token"]
    for _ in range(5):
        r = await second(world, {"pending_token": pending, "code": "000000"})
        assert r.status_code == 401
    r = await second(world, {"pending_token": pending, "code": code_now(world, secret)})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) > 0


async def test_policy_requires_two_factor_for_supervisors(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("sam", StaffRole.SUPERVISOR)
    await world.add_staff("alice")
    async with world.staff_http("root") as http:
        # API tokens are not sessions: the policy leaves them be (root's session ends below).
        r = await http.post("/api/v1/auth/tokens", json={"name": "script"})
        world.tokens["root"] = r.json()["token"]
    async with world.staff_http("root") as http:
        r = await http.put(POLICY, json={"require_2fa": "sometimes"})
        assert r.status_code == 422
        r = await http.put(POLICY, json={"require_2fa": "supervisors_and_admins"})
        assert r.status_code == 200, r.text
    # Sam's session ended (he must enrol); Alice is an agent, untouched.
    async with world.staff_http("sam") as http:
        assert (await http.get("/api/v1/auth/me")).status_code == 401
    async with world.staff_http("alice") as http:
        assert (await http.get("/api/v1/admin/workgroups")).status_code == 200
    r = await login(world, "sam")
    assert r.status_code == 200 and r.json()["must_enrol_2fa"] is True
    world.tokens["sam"] = r.cookies["parley_session"]
    async with world.staff_http("sam") as http:
        r = await http.get("/api/v1/admin/workgroups")
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "two_factor_enrolment_required"
        r = await http.get("/api/v1/auth/me")
        assert r.status_code == 200 and r.json()["must_enrol_2fa"] is True
        assert (await http.get("/api/v1/me/2fa")).json()["required"] is True
    await enrol(world, "sam")
    # The same session is an ordinary one now.
    async with world.staff_http("sam") as http:
        assert (await http.get("/api/v1/admin/workgroups")).status_code == 200
    rows = await audit(world, "root", action="account_policy")
    assert rows[0]["details"]["after"]["require_2fa"] == "supervisors_and_admins"
    assert rows[0]["details"]["before"]["require_2fa"] == "none"


async def room_with_guest(world: World) -> tuple[str, str]:
    """A private room of Olga's with a guest, Gus: (conversation id, Gus's session)."""
    await world.add_staff("olga")
    async with world.staff_http("olga") as http:
        r = await http.post("/api/v1/im/rooms", json={"name": "Partners"})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        r = await http.post(f"/api/v1/im/rooms/{cid}/guests", json={"email": "gus@partner.example"})
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        assert r.json()["emailed"] is False
    async with world.node.http() as http:
        body = {"token": token, "username": "gus", "password": PASSWORD, "display_name": "Gus"}
        r = await http.post("/api/v1/guests/accept", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["role"] == "guest" and r.json()["email"] == "gus@partner.example"
        # An invitation works once.
        r = await http.post("/api/v1/guests/accept", json={**body, "username": "gus2"})
        assert r.status_code == 401
    r = await login(world, "gus")
    assert r.status_code == 200, r.text
    world.tokens["gus"] = r.cookies["parley_session"]
    world.user_ids["gus"] = r.json()["user"]["id"]
    return cid, r.cookies["parley_session"]


async def test_a_guest_reads_their_room_only(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    cid, _ = await room_with_guest(world)
    async with world.staff_http("olga") as http:
        r = await http.post("/api/v1/im/rooms", json={"name": "Lobby", "visibility": "open"})
        lobby = r.json()["id"]
        r = await http.post(
            f"/api/v1/conversations/{cid}/messages", json={"text": "Hi Gus", "client_id": "c1"}
        )
        assert r.status_code in (200, 201), r.text
    chat = await world.open_chat()
    async with world.staff_http("gus") as http:
        r = await http.get(f"/api/v1/im/conversations/{cid}/history")
        assert r.status_code == 200, r.text
        assert "Hi Gus" in r.text
        r = await http.post(
            f"/api/v1/conversations/{cid}/messages", json={"text": "Hello", "client_id": "c2"}
        )
        assert r.status_code in (200, 201), r.text
        for method, path, body in (
            ("get", "/api/v1/staff", None),
            ("get", "/api/v1/im/rooms", None),
            ("post", "/api/v1/im/rooms", {"name": "Mine"}),
            ("post", "/api/v1/im/direct", {"user_ids": [world.user_ids["olga"]]}),
            ("post", f"/api/v1/im/rooms/{cid}/guests", {"email": "x@partner.example"}),
            ("get", "/api/v1/admin/workgroups", None),
        ):
            r = await http.request(method, path, json=body)
            assert r.status_code == 403, (path, r.text)
        # An open room or a customer chat reads, to a guest, like one that does not exist.
        for method, path in (
            ("get", f"/api/v1/im/conversations/{lobby}/history"),
            ("post", f"/api/v1/im/conversations/{lobby}/join"),
            ("get", f"/api/v1/conversations/{chat['conversation']['id']}"),
        ):
            r = await http.request(method, path)
            assert r.status_code == 404, (path, r.text)
        mine = (await http.get("/api/v1/im/conversations")).json()
        assert [c["conversation"]["id"] for c in mine] == [cid]
    # Nor anyone's presence or profile on the socket: not in the snapshot, not live.
    async with world.agent("gus", available=False) as gus, world.agent("olga") as olga:
        async with world.staff_http("olga") as http:
            r = await http.put("/api/v1/me/profile", json={"title": "Partners lead"})
            assert r.status_code == 200, r.text
        # Every staff connection is sent it in one pass: once Olga has it, Gus was passed over.
        await olga.expect_type("staff_profile", user_id=world.user_ids["olga"])
        await gus.request({"type": "ping"})
        assert not [m for m in gus.received if m.get("type") in ("presence", "staff_profile")]
    # Nobody makes a guest by hand, or DMs one.
    async with world.staff_http("root") as http:
        r = await http.post(
            "/api/v1/admin/users", json={"username": "g2", "password": PASSWORD, "role": "guest"}
        )
        assert r.status_code == 422
        r = await http.post("/api/v1/im/direct", json={"user_ids": [world.user_ids.get("gus", 0)]})
        assert r.status_code == 404
        # Nor gives a guest the compliance right (it reads every conversation).
        right = f"/api/v1/admin/users/{world.user_ids['gus']}/compliance"
        r = await http.put(right, json={"compliance": True})
        assert r.status_code == 422, r.text
        assert "guest" in r.json()["error"]["message"]
        r = await http.put(right, json={"compliance": False})
        assert r.status_code == 204, r.text


@pytest.fixture
async def mail_world(backend: str, tmp_path: Path) -> AsyncIterator[tuple[World, SmtpSink]]:
    """A node that mails through a real SMTP server and knows its public URL."""
    async with smtp_server() as sink:
        async for w in make_world(
            backend,
            tmp_path,
            smtp_host="127.0.0.1",
            smtp_port=sink.port,
            smtp_security="none",
            public_url="https://chat.example.com",
        ):
            yield w, sink


async def test_a_guest_invitation_mails_the_console_link(
    mail_world: tuple[World, SmtpSink],
) -> None:
    world, smtp = mail_world
    await world.add_staff("olga")
    async with world.staff_http("olga") as http:
        r = await http.post("/api/v1/im/rooms", json={"name": "Partners"})
        cid = r.json()["id"]
        r = await http.post(f"/api/v1/im/rooms/{cid}/guests", json={"email": "gus@partner.example"})
        assert r.status_code == 201, r.text
        assert r.json()["emailed"] is True
        token = r.json()["token"]
    mail = await smtp.next()
    assert mail.rcpt_tos == ["gus@partner.example"]
    body = mail.message.get_content()
    # The console's acceptance page, the token in the fragment (never sent to a server).
    assert f"https://chat.example.com/console/#/guest?token={quote(token, safe='')}" in body
    assert "POST /api/v1" not in body


async def test_internal_only_turns_guests_away(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    cid, _ = await room_with_guest(world)
    async with world.staff_http("olga") as http:
        r = await http.post(f"/api/v1/im/rooms/{cid}/guests", json={"email": "una@else.example"})
        pending = r.json()["token"]
    async with world.staff_http("root") as http:
        r = await http.put(POLICY, json={"internal_only": True})
        assert r.status_code == 200, r.text
    # The guest's session is gone, they are out of the room, they cannot sign in again.
    async with world.staff_http("gus") as http:
        assert (await http.get("/api/v1/auth/me")).status_code == 401
    r = await login(world, "gus")
    assert r.status_code == 403 and r.json()["error"]["code"] == "internal_only"
    async with world.staff_http("olga") as http:
        r = await http.get(f"/api/v1/im/conversations/{cid}/history")
        left = [e for e in r.json() if e["kind"] == "left"]
        assert [e["author"] for e in left] == [f"user:{world.user_ids['gus']}"]
        r = await http.post(f"/api/v1/im/rooms/{cid}/guests", json={"email": "v@else.example"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "internal_only"
    async with world.node.http() as http:
        body = {"token": pending, "username": "una", "password": PASSWORD}
        r = await http.post("/api/v1/guests/accept", json=body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "internal_only"
    assert await audit(world, "root", action="account.guest_removed")


async def test_staff_email_domains_and_account_audit(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    async with world.staff_http("root") as http:
        r = await http.put(POLICY, json={"staff_email_domains": ["not a domain"]})
        assert r.status_code == 422
        r = await http.put(POLICY, json={"staff_email_domains": ["Example.COM", "@corp.example"]})
        assert r.status_code == 200, r.text
        assert r.json()["staff_email_domains"] == ["corp.example", "example.com"]
        new = {"username": "bea", "password": PASSWORD}
        for email in (None, "bea@evil.example", "bea@sub.example.com"):
            r = await http.post("/api/v1/admin/users", json={**new, "email": email})
            assert r.status_code == 422, r.text
            assert r.json()["error"]["code"] == "email_domain_refused"
        r = await http.post("/api/v1/admin/users", json={**new, "email": "bea@example.com"})
        assert r.status_code == 201, r.text
        bea = r.json()["id"]
        r = await http.patch("/api/v1/admin/users/bea", json={"email": "bea@evil.example"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "email_domain_refused"
        for patch in (
            {"role": "supervisor"},
            {"password": "another long one"},
            {"display_name": "Bea B."},
            {"active": False},
        ):
            r = await http.patch("/api/v1/admin/users/bea", json=patch)
            assert r.status_code == 200, r.text
    rows = await audit(world, "root", subject=f"user:{bea}")
    assert [r["action"] for r in rows] == [
        "account.deactivated",
        "account.updated",
        "account.password_reset",
        "account.role_changed",
        "account.created",
    ]
    assert rows[3]["details"] == {"from": "agent", "to": "supervisor"}
    assert all(r["actor"] == f"staff:{world.user_ids['root']}" for r in rows)
    assert "another long one" not in str(rows)


async def test_totp_secrets_are_sealed_at_rest_and_old_clear_ones_sealed_at_start(
    world: World,
) -> None:
    import sqlalchemy as sa

    from parley.storage import sealing
    from parley.storage.tables import users

    await world.add_staff("alice")
    await world.add_staff("bob")
    secret, _ = await enrol(world, "alice")

    async def stored(username: str) -> tuple[str | None, str | None]:
        async with world.parley.db.read() as tx:
            row = await tx.one(
                sa.select(users.c.totp_secret, users.c.totp_secret_sealed).where(
                    users.c.username == username
                )
            )
        assert row is not None
        return row.totp_secret, row.totp_secret_sealed

    clear, sealed = await stored("alice")
    assert clear is None and sealed is not None
    assert sealed.startswith("fernet:") and secret not in sealed
    key_file = world.parley.settings.resolved_secrets_key_file()
    assert key_file.exists() and str(key_file).startswith(str(world.parley.settings.data_dir))

    # Bob enrolled before secrets were sealed (migration 0017): his is in the clear.
    bob_secret = pyotp.random_base32()
    async with world.parley.db.write() as tx:
        await tx.conn.execute(
            sa.update(users)
            .where(users.c.username == "bob")
            .values(totp_secret=bob_secret, totp_enabled=True)
        )
    await world.parley.accounts.start()  # what a node does as it starts
    clear, sealed = await stored("bob")
    assert clear is None and sealed is not None and bob_secret not in sealed
    # Rotation: a new first key; the next start seals every secret with it.
    before = (await stored("alice"))[1]
    sealing.rotate(key_file)
    await world.parley.accounts.start()
    after = (await stored("alice"))[1]
    assert after is not None and after != before
    first = sealing.parse_keys(key_file.read_text())[0]
    from cryptography.fernet import Fernet

    assert Fernet(first).decrypt(after.removeprefix("fernet:").encode()).decode() == secret
    # Both still sign in with their codes.
    world.clock.advance(30)
    for username, their_secret in (("alice", secret), ("bob", bob_secret)):
        pending = (await login(world, username)).json()["pending_token"]
        r = await second(world, {"pending_token": pending, "code": code_now(world, their_secret)})
        assert r.status_code == 200, (username, r.text)
    # A node without the key file, on a database with sealed secrets, does not start (a new
    # key would lock everyone out of two-factor sign-in).
    key_file.rename(key_file.with_name("elsewhere.key"))
    try:
        raised = False
        try:
            await world.parley.accounts.start()
        except sealing.SealingError as exc:
            raised = "missing" in str(exc)
        assert raised
        assert not key_file.exists()
    finally:
        key_file.with_name("elsewhere.key").rename(key_file)


async def test_enrolment_gives_a_qr_code_of_the_otpauth_uri(world: World) -> None:
    import xml.etree.ElementTree as ET

    from parley.web.qr import qr_svg

    await world.add_staff("alice")
    async with world.staff_http("alice") as http:
        r = await http.post("/api/v1/me/2fa")
    assert r.status_code == 201, r.text
    body = r.json()
    svg = body["qr_svg"]
    root = ET.fromstring(svg)  # noqa: S314 (our own server's answer, in a test)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    # Nothing but a title and paths: no script, no handler, no link out.
    tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
    assert tags <= {"svg", "title", "g", "path"}
    assert not [a for el in root.iter() for a in el.attrib if a.startswith("on") or "href" in a]
    # It is the QR code of the URI returned with it (the same drawing, made again).
    assert svg == qr_svg(body["otpauth_uri"], "Scan with your authenticator app")
    assert svg != qr_svg(body["otpauth_uri"].replace(body["secret"], "A" * 32), "x")
