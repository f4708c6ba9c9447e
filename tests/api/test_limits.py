"""Limits on abuse, through the public API (docs/security.md, "Limits"): the login lockout and
per-address logins, chats and left messages per address and per workgroup, one email per
sender, WebSocket messages, typing, sockets per address and the hello timeout, request bodies
and headers, and whom X-Forwarded-For is believed from. On SQLite (memory storage) and on
PostgreSQL + Redis (Redis storage); two nodes sharing Redis share one limit.

The shared limits run on the wall clock of the ``limits`` library, so these tests never wait for
a window to pass: they reach a limit and look at the refusal (and at what lifts it: an unlock, a
success). Per-connection limits run on the node's clock: the FakeClock moves them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import make_world
from tests.fakes import FakeClock
from tests.smtp import smtp_server
from tests.support import (
    PASSWORD,
    REDIS_URL,
    World,
    WsClient,
    check_redis,
    postgres_schema,
    run_node,
    settings_for,
)
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from parley.domain.access import StaffRole
from parley.services.inbox import EMAIL_SKIPPED
from parley.settings import Settings

RECV = 10.0


@asynccontextmanager
async def world_with(backend: str, tmp_path: Path, **overrides: Any) -> AsyncIterator[World]:
    """A node with these settings, workgroups sales and support, and an admin, root."""
    worlds = make_world(backend, tmp_path, **overrides)
    world = await worlds.__anext__()
    try:
        await world.add_workgroup("sales")
        await world.add_workgroup("support")
        await world.add_staff("root", StaffRole.ADMIN)
        yield world
    finally:
        await worlds.aclose()


def from_ip(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


async def login(http: httpx.AsyncClient, username: str, password: str, **kw: Any) -> Any:
    return await http.post(
        "/api/v1/auth/login", json={"username": username, "password": password}, **kw
    )


def assert_rate_limited(r: httpx.Response, most: int) -> dict[str, Any]:
    assert r.status_code == 429, r.text
    error = dict(r.json()["error"])
    assert error["code"] == "rate_limited"
    retry_after = int(r.headers["Retry-After"])
    assert 1 <= retry_after <= most
    assert error["details"] == {"retry_after": retry_after}
    return error


# Logins ---------------------------------------------------------------------------------------


async def test_failed_logins_lock_the_account_whatever_the_password_and_an_admin_unlocks_it(
    backend: str, tmp_path: Path
) -> None:
    async with world_with(
        backend, tmp_path, login_failure_limit="3 per 15 minutes", login_lockout_secs=600
    ) as world:
        await world.add_staff("alice")
        await world.add_staff("bob")
        async with world.node.http() as http:
            for _ in range(3):
                assert (await login(http, "alice", "wrong password")).status_code == 401
                assert (await login(http, "nobody", "wrong password")).status_code == 401
            # Locked: the right password is refused like a wrong one, before it is checked.
            locked = assert_rate_limited(await login(http, "alice", PASSWORD), 600)
            wrong = assert_rate_limited(await login(http, "alice", "wrong password"), 600)
            # An account that does not exist locks the same way: nothing tells them apart.
            unknown = assert_rate_limited(await login(http, "nobody", PASSWORD), 600)
            assert locked["message"] == wrong["message"] == unknown["message"]
            # Case and spaces do not make another account.
            assert_rate_limited(await login(http, " ALICE", PASSWORD), 600)
            # Nobody else is affected.
            assert (await login(http, "bob", PASSWORD)).status_code == 200

        async with world.staff_http("bob") as http:
            assert (await http.post("/api/v1/admin/users/alice/unlock")).status_code == 403
        async with world.staff_http("root") as http:
            r = await http.post("/api/v1/admin/users/alice/unlock")
            assert (r.status_code, r.json()) == (200, {"was_locked": True})
            r = await http.post("/api/v1/admin/users/alice/unlock")
            assert r.json() == {"was_locked": False}
            assert (await http.post("/api/v1/admin/users/ghost/unlock")).status_code == 404
        async with world.node.http() as http:
            assert (await login(http, "alice", PASSWORD)).status_code == 200
            # Unlocking forgot the failures too: it takes three more to lock again.
            for _ in range(2):
                assert (await login(http, "alice", "wrong password")).status_code == 401
            assert (await login(http, "alice", PASSWORD)).status_code == 200


async def test_a_successful_login_forgets_the_failures(backend: str, tmp_path: Path) -> None:
    async with world_with(backend, tmp_path, login_failure_limit="3 per 15 minutes") as world:
        await world.add_staff("alice")
        async with world.node.http() as http:
            for _ in range(4):
                for _ in range(2):
                    assert (await login(http, "alice", "wrong password")).status_code == 401
                assert (await login(http, "alice", PASSWORD)).status_code == 200


async def test_logins_are_limited_per_client_address(backend: str, tmp_path: Path) -> None:
    # 127.0.0.1 is the proxy in front here: the X-Forwarded-For it sends names the client.
    async with world_with(
        backend, tmp_path, login_ip_limit="4 per minute", trusted_proxies="127.0.0.1"
    ) as world:
        await world.add_staff("bob")
        async with world.node.http(headers=from_ip("198.51.100.7")) as http:
            for i in range(4):
                assert (await login(http, f"user{i}", "wrong password")).status_code == 401
            error = assert_rate_limited(await login(http, "bob", PASSWORD), 60)
            assert "address" in error["message"]
        async with world.node.http(headers=from_ip("198.51.100.8")) as http:
            assert (await login(http, "bob", PASSWORD)).status_code == 200


# Chats and left messages ----------------------------------------------------------------------


async def open_chat(world: World, slug: str = "sales", ip: str | None = None) -> httpx.Response:
    async with world.node.http(headers=from_ip(ip) if ip else {}) as http:
        return await http.post(f"/api/v1/workgroups/{slug}/chats", json={"name": "Zoe"})


async def leave_message(
    world: World, slug: str = "sales", ip: str | None = None, email: str = "zoe@example.com"
) -> httpx.Response:
    async with world.node.http(headers=from_ip(ip) if ip else {}) as http:
        return await http.post(
            f"/api/v1/workgroups/{slug}/messages",
            json={"name": "Zoe", "email": email, "message": "Call me"},
        )


async def test_chats_are_limited_per_address_and_per_workgroup(
    backend: str, tmp_path: Path
) -> None:
    async with world_with(
        backend,
        tmp_path,
        chat_ip_limit="2 per minute",
        chat_workgroup_limit="3 per minute",
        trusted_proxies="127.0.0.1",
    ) as world:
        for _ in range(2):
            assert (await open_chat(world, ip="203.0.113.1")).status_code == 201
        error = assert_rate_limited(await open_chat(world, "support", ip="203.0.113.1"), 60)
        assert "address" in error["message"]
        # Others still can, up to the workgroup's limit; then nobody, but only in that one.
        assert (await open_chat(world, ip="203.0.113.2")).status_code == 201
        error = assert_rate_limited(await open_chat(world, ip="203.0.113.3"), 60)
        assert "workgroup" in error["message"]
        assert (await open_chat(world, "support", ip="203.0.113.3")).status_code == 201
        # Refused requests opened nothing: three chats in sales, one in support.
        async with world.staff_http("root") as http:
            listed = (await http.get("/api/v1/conversations", params={"all": "true"})).json()
        assert len(listed) == 4


async def test_left_messages_are_limited_per_address_and_per_workgroup(
    backend: str, tmp_path: Path
) -> None:
    async with world_with(
        backend,
        tmp_path,
        message_ip_limit="1 per minute",
        message_workgroup_limit="2 per minute",
        trusted_proxies="127.0.0.1",
    ) as world:
        assert (await leave_message(world, ip="203.0.113.1")).status_code == 201
        assert_rate_limited(await leave_message(world, "support", ip="203.0.113.1"), 60)
        assert (await leave_message(world, ip="203.0.113.2")).status_code == 201
        error = assert_rate_limited(await leave_message(world, ip="203.0.113.3"), 60)
        assert "workgroup" in error["message"]
        assert (await leave_message(world, "support", ip="203.0.113.4")).status_code == 201
        async with world.staff_http("root") as http:
            listed = (await http.get("/api/v1/messages")).json()
        assert sorted(m["workgroup"] for m in listed) == ["sales", "sales", "support"]


async def test_one_email_per_sender_and_workgroup_the_others_only_in_the_inbox(
    backend: str, tmp_path: Path
) -> None:
    async with (
        smtp_server() as smtp,
        world_with(
            backend,
            tmp_path,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_security="none",
            message_email_limit="1 per 5 minutes",
        ) as world,
    ):
        async with world.staff_http("root") as http:
            for slug in ("sales", "support"):
                r = await http.put(
                    f"/api/v1/workgroups/{slug}/hours", json={"email": f"{slug}@example.com"}
                )
                assert r.status_code == 200, r.text
        first = (await leave_message(world)).json()["id"]
        second = (await leave_message(world, email="ZOE@example.com")).json()["id"]
        other = (await leave_message(world, email="yan@example.com")).json()["id"]
        elsewhere = (await leave_message(world, "support")).json()["id"]
        mails = [await smtp.next() for _ in range(3)]
        assert sorted((m.rcpt_tos[0], str(m.message["Reply-To"])) for m in mails) == [
            ("sales@example.com", "Zoe <yan@example.com>"),
            ("sales@example.com", "Zoe <zoe@example.com>"),
            ("support@example.com", "Zoe <zoe@example.com>"),
        ]
        async with world.staff_http("root") as http:
            listed = {m["id"]: m for m in (await http.get("/api/v1/messages")).json()}
        assert set(listed) == {first, second, other, elsewhere}
        skipped = listed[second]
        assert (skipped["emailed_at"], skipped["email_attempts"]) == (None, 0)
        assert skipped["last_email_error"] == EMAIL_SKIPPED
        assert all(listed[i]["last_email_error"] is None for i in (first, other, elsewhere))
        assert smtp.received.empty()


async def test_rest_sends_are_limited_per_conversation(backend: str, tmp_path: Path) -> None:
    async with world_with(backend, tmp_path, send_limit="2 per minute") as world:
        chat = (await open_chat(world)).json()
        cid = chat["conversation"]["id"]
        async with world.node.http(headers={"X-Visitor-Token": chat["visitor_token"]}) as http:
            for i in range(2):
                r = await http.post(
                    f"/api/v1/conversations/{cid}/messages",
                    json={"client_id": f"c{i}", "text": "hi"},
                )
                assert r.status_code == 200, r.text
            r = await http.post(
                f"/api/v1/conversations/{cid}/messages", json={"client_id": "c2", "text": "hi"}
            )
            assert_rate_limited(r, 60)
            entries = (await http.get(f"/api/v1/conversations/{cid}/entries")).json()
        assert [e["client_id"] for e in entries] == [None, "c0", "c1"]


# WebSocket ------------------------------------------------------------------------------------


def send(cid: str, n: int) -> dict[str, Any]:
    return {
        "type": "send",
        "ref": f"s{n}",
        "conversation_id": cid,
        "client_id": f"m{n}",
        "text": f"m{n}",
    }


async def test_a_send_over_the_limit_is_refused_with_retry_after_and_later_ones_keep_order(
    backend: str, tmp_path: Path
) -> None:
    async with world_with(backend, tmp_path, ws_message_limit="2 per 10 seconds") as world:
        chat = (await open_chat(world)).json()
        cid = chat["conversation"]["id"]
        async with world.visitor(chat["visitor_token"]) as zoe:
            for n in (1, 2, 3, 4):
                await zoe.send(send(cid, n))  # in a row, without waiting for the answers
            assert (await zoe.expect(lambda m: m.get("ref") == "s1"))["type"] == "ack"
            assert (await zoe.expect(lambda m: m.get("ref") == "s2"))["type"] == "ack"
            for ref in ("s3", "s4"):
                refused = await zoe.expect(lambda m, ref=ref: m.get("ref") == ref)
                assert (refused["type"], refused["code"]) == ("error", "rate_limited")
                assert refused["retry_after"] == 5  # one more message every 5 s
            # The client waits retry_after, then sends the refused ones again, in order. The
            # bucket has one message by then: s3 goes, s4 waits once more.
            world.clock.advance(5)
            await zoe.send(send(cid, 3))
            await zoe.send(send(cid, 4))
            assert (await zoe.expect(lambda m: m.get("ref") == "s3"))["type"] == "ack"
            again = await zoe.expect(lambda m: m.get("ref") == "s4")
            assert (again["code"], again["retry_after"]) == ("rate_limited", 5)
            world.clock.advance(5)
            assert (await zoe.request(send(cid, 4)))["type"] == "ack"
        async with world.node.http(headers={"X-Visitor-Token": chat["visitor_token"]}) as http:
            entries = (await http.get(f"/api/v1/conversations/{cid}/entries")).json()
        assert [e["client_id"] for e in entries] == [None, "m1", "m2", "m3", "m4"]


async def test_typing_over_its_limit_is_dropped_without_an_error(
    backend: str, tmp_path: Path
) -> None:
    async with world_with(backend, tmp_path, ws_typing_limit="2 per 10 seconds") as world:
        await world.add_staff("alice", workgroups=["sales"])
        async with world.agent("alice") as alice:
            chat = (await open_chat(world)).json()
            cid = chat["conversation"]["id"]
            offer = (await alice.expect_type("offer"))["offer"]
            assert (await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]}))[
                "type"
            ] == "ok"
            async with world.visitor(chat["visitor_token"]) as zoe:
                for i in range(10):
                    await zoe.send({"type": "typing", "conversation_id": cid, "active": i % 2 == 0})
                # Frames are handled in order: once the pong is back, all typing was handled,
                # and what reached alice is in her outbox ahead of her own pong.
                assert (await zoe.request({"type": "ping"}))["type"] == "pong"
                assert not [m for m in zoe.received if m["type"] == "error"]
                assert world.parley.limiter.refusals["ws_typing"] == 8  # the first 2 went on
                assert (await alice.request({"type": "ping"}))["type"] == "pong"
                typing = [m for m in alice.received if m["type"] == "typing"]
                # The two let through, or only the second if it replaced the first while that
                # still waited in alice's outbox (typing is latest-state: protocol.md).
                assert [m["active"] for m in typing] in ([True, False], [False])
                # Later, typing goes through again.
                alice.drain_pending()
                world.clock.advance(5)
                await zoe.send({"type": "typing", "conversation_id": cid, "active": True})
                assert (await alice.expect_type("typing"))["active"] is True


async def test_sockets_per_address_are_capped(backend: str, tmp_path: Path) -> None:
    async with world_with(
        backend, tmp_path, ws_connections_per_ip=2, trusted_proxies="127.0.0.1"
    ) as world:
        chat = (await open_chat(world)).json()
        url = world.node.ws_url
        async with WsClient.connect(url) as one, WsClient.connect(url) as two:
            await one.hello(visitor_token=chat["visitor_token"])
            async with connect(url, open_timeout=RECV) as third:
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(third.recv(), RECV)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1013
            assert closed.value.rcvd.reason == "too many connections from your address"
            # Another address is not affected.
            async with WsClient.connect(url, additional_headers=from_ip("203.0.113.5")) as other:
                await other.hello(visitor_token=chat["visitor_token"])
            await two.hello(visitor_token=chat["visitor_token"])


async def test_a_socket_that_does_not_say_hello_in_time_is_closed(
    backend: str, tmp_path: Path
) -> None:
    async with world_with(backend, tmp_path, hello_timeout_secs=0.2) as world:
        async with connect(world.node.ws_url, open_timeout=RECV) as ws:
            error = json.loads(await asyncio.wait_for(ws.recv(), RECV))
            assert (error["type"], error["code"]) == ("error", "protocol_error")
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), RECV)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_the_hello_timeout_is_ten_seconds_by_default() -> None:
    assert Settings().hello_timeout_secs == 10


# Bodies and headers ---------------------------------------------------------------------------


async def raw_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, Any]]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), RECV)
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await asyncio.wait_for(reader.readexactly(length), RECV)
    return status, json.loads(body) if body else {}


async def test_a_body_declared_too_large_is_refused_before_it_is_read(
    backend: str, tmp_path: Path
) -> None:
    async with world_with(backend, tmp_path) as world:
        reader, writer = await asyncio.open_connection("127.0.0.1", world.node.port)
        try:
            # 30 MB announced, 1 KB sent: the answer comes without the rest.
            writer.write(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\n"
                b"Content-Type: application/json\r\nContent-Length: 31457280\r\n\r\n" + b" " * 1024
            )
            await writer.drain()
            status, body = await raw_response(reader)
        finally:
            writer.close()
    assert status == 413
    assert body["error"]["code"] == "body_too_large"
    assert body["error"]["details"] == {"max_bytes": 65536}


async def test_a_streamed_body_is_refused_once_it_is_over_the_limit(
    backend: str, tmp_path: Path
) -> None:
    async with world_with(backend, tmp_path, max_body_bytes=4096) as world:
        reader, writer = await asyncio.open_connection("127.0.0.1", world.node.port)
        try:
            writer.write(
                b"POST /api/v1/workgroups/sales/chats HTTP/1.1\r\nHost: test\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            # 8 KB in 1 KB chunks, and the body never ends: refused all the same.
            for _ in range(8):
                writer.write(b"400\r\n" + b" " * 1024 + b"\r\n")
            await writer.drain()
            status, body = await raw_response(reader)
        finally:
            writer.close()
        assert status == 413
        assert body["error"]["code"] == "body_too_large"
        # Nothing was opened.
        async with world.staff_http("root") as http:
            assert (await http.get("/api/v1/conversations", params={"all": "true"})).json() == []


async def test_bodies_within_the_limit_are_served(backend: str, tmp_path: Path) -> None:
    async with world_with(backend, tmp_path) as world, world.node.http() as http:
        r = await http.post(
            "/api/v1/workgroups/sales/chats", json={"name": "Zoe", "question": "q" * 3000}
        )
        assert r.status_code == 201, r.text


async def test_slow_or_huge_request_headers_are_cut_off(backend: str, tmp_path: Path) -> None:
    async with world_with(backend, tmp_path, header_timeout_secs=0.3) as world:
        port = world.node.port
        # Nothing at all, and half a request: both closed after the header timeout.
        for sent in (b"", b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: "):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(sent)
                await writer.drain()
                assert await asyncio.wait_for(reader.read(), RECV) == b""
            finally:
                writer.close()
        # Headers over max_header_bytes (16 KiB): 431, however fast they come.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * 40_000)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), RECV)
            assert answer.startswith(b"HTTP/1.1 431 ")
        finally:
            writer.close()
        # Complete requests with headers over the cap, sent in one write (the parser sees
        # them whole before the bytes are counted): 431 too, one big header or many small ones.
        for request in (
            b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-A: " + b"a" * 100_000 + b"\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nHost: test\r\n" + b"X-B: bbbbbbbbbbbb\r\n" * 1500 + b"\r\n",
            b"GET /healthz?" + b"q" * 20_000 + b" HTTP/1.1\r\nHost: test\r\n\r\n",
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(request)
                await writer.drain()
                answer = await asyncio.wait_for(reader.read(), RECV)
                assert answer.startswith(b"HTTP/1.1 431 "), answer[:80]
                assert b"400" not in answer.split(b"\r\n", 1)[1]  # only the one answer
                # Written by the protocol, not the app, and still with the security headers.
                assert b"x-content-type-options: nosniff" in answer.lower()
                assert b"frame-ancestors 'none'" in answer
            finally:
                writer.close()
        # A request the parser cannot read gets uvicorn's 400, with the security headers.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: x\r\n\r\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), RECV)
            assert answer.startswith(b"HTTP/1.1 400 "), answer[:80]
            assert b"x-content-type-options: nosniff" in answer.lower()
            assert b"frame-ancestors 'none'" in answer
        finally:
            writer.close()
        # Headers just under the cap, in one write, are served.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(
                b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\nX-C: "
                + b"c" * 12_000
                + b"\r\n\r\n"
            )
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), RECV)
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:80]
        finally:
            writer.close()
        # A connection that keeps making complete requests is served on and on.
        async with world.node.http() as http:
            for _ in range(3):
                assert (await http.get("/healthz")).status_code == 200


# Whom X-Forwarded-For is believed from --------------------------------------------------------


async def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    backend: str, tmp_path: Path
) -> None:
    async with world_with(backend, tmp_path, chat_ip_limit="1 per minute") as world:
        assert (await open_chat(world, ip="198.51.100.1")).status_code == 201
        # Another claimed address changes nothing: the peer is what counts.
        assert_rate_limited(await open_chat(world, ip="198.51.100.2"), 60)
    async with world_with(
        backend, tmp_path / "proxied", chat_ip_limit="1 per minute", trusted_proxies="127.0.0.0/8"
    ) as world:
        assert (await open_chat(world, ip="198.51.100.1")).status_code == 201
        assert (await open_chat(world, ip="198.51.100.2")).status_code == 201
        # The right-most address not itself a trusted proxy is the client: what the client
        # wrote to the left of it (spoofing) does not count.
        assert_rate_limited(await open_chat(world, ip="203.0.113.66, 198.51.100.1"), 60)
        assert_rate_limited(await open_chat(world, ip="198.51.100.2, 127.0.0.5"), 60)


def test_settings_refuse_bad_rates_and_untrustworthy_proxy_lists() -> None:
    for bad, why in (("often", "is not a rate"), ("0 per minute", "at least 1")):
        with pytest.raises(ValueError, match=why):
            Settings(chat_ip_limit=bad)
    for proxies in ("*", "proxy.internal", "10.0.0.0/8 *"):
        with pytest.raises(ValueError, match="not an IP address or network"):
            Settings(trusted_proxies=proxies)
    assert Settings(trusted_proxies="10.0.0.1, 192.168.0.0/16").trusted_proxy_list() == [
        "10.0.0.1",
        "192.168.0.0/16",
    ]


# Several nodes --------------------------------------------------------------------------------


async def test_two_nodes_sharing_redis_count_one_limit(tmp_path: Path) -> None:
    await check_redis()
    async with postgres_schema() as url:
        shared = settings_for(
            tmp_path,
            database_url=url,
            redis_url=REDIS_URL,
            redis_channel="parley-test:" + secrets.token_hex(4),
            chat_ip_limit="2 per minute",
            login_failure_limit="2 per 15 minutes",
        )
        a_settings = shared.model_copy(update={"node_id": "limits-a"})
        b_settings = shared.model_copy(update={"node_id": "limits-b"})
        async with run_node(a_settings, FakeClock()) as a, run_node(b_settings, FakeClock()) as b:
            assert type(a.parley.limiter.storage).__name__ == "RedisStorage"
            await a.parley.admin.create_workgroup(None, "sales", _settings("Sales"))
            await a.parley.inbox.set_hours(None, "sales", _queue_always())
            for node in (a, b):
                async with node.http() as http:
                    r = await http.post("/api/v1/workgroups/sales/chats", json={"name": "Zoe"})
                    assert r.status_code == 201, r.text
            async with a.http() as http:
                r = await http.post("/api/v1/workgroups/sales/chats", json={"name": "Zoe"})
                assert_rate_limited(r, 60)
            # Failures on one node lock the account on the other.
            async with a.http() as http:
                for _ in range(2):
                    assert (await login(http, "ghost", "wrong password")).status_code == 401
            async with b.http() as http:
                assert_rate_limited(await login(http, "ghost", "wrong password"), 900)


def _settings(name: str) -> Any:
    from parley.services.admin import WorkgroupSettings

    return WorkgroupSettings(name)


def _queue_always() -> Any:
    from parley.services.inbox import HoursSettings

    return HoursSettings(None, queue_without_agents=True)


async def test_the_h11_parser_gets_the_same_header_deadline(tmp_path: Path) -> None:
    """Where httptools is not installed, uvicorn (and Parley) fall back to h11."""
    import uvicorn

    from parley.web.server import h11_protocol

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    settings = settings_for(tmp_path, header_timeout_secs=0.3)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="warning",
        http=h11_protocol(settings),
    )
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup()
    try:
        port = server.servers[0].sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            await writer.drain()
            assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), RECV)).startswith(
                b"HTTP/1.1 204 "
            )
            writer.write(b"GET / HTTP/1.1\r\nHost: te")  # the next request, never finished
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), RECV) == b""  # closed by the deadline
        finally:
            writer.close()
    finally:
        await server.shutdown()
