"""Credentials that end take open sockets with them, on every node."""

from __future__ import annotations

import asyncio
import json
import secrets

import pytest
from tests.support import RECV_TIMEOUT_SECS, World, WsClient
from websockets.exceptions import ConnectionClosed

from parley.domain.access import StaffRole


async def closed_code(ws: WsClient) -> int:
    """Read until the server closes; what arrived before is kept in ``ws.received``."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.received.append(json.loads(await asyncio.wait_for(ws.ws.recv(), RECV_TIMEOUT_SECS)))
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_deactivation_closes_the_users_sockets(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        async with world.staff_http("root") as admin:
            r = await admin.patch("/api/v1/admin/users/alice", json={"active": False})
            assert r.status_code == 200, r.text
        assert await closed_code(alice) == 1008
        assert any(
            m.get("type") == "error" and m.get("code") == "unauthenticated" for m in alice.received
        )


async def test_a_new_role_closes_the_sockets_opened_with_the_old_one(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("sam", StaffRole.SUPERVISOR)
    async with world.agent("sam", available=False) as sam:
        async with world.staff_http("root") as admin:
            r = await admin.patch("/api/v1/admin/users/sam", json={"role": "agent"})
            assert r.status_code == 200, r.text
        assert await closed_code(sam) == 1008


async def test_logout_closes_only_that_sessions_sockets(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    other_session = world.tokens["alice"]
    async with world.node.http() as http:
        r = await http.post(
            "/api/v1/auth/login", json={"username": "alice", "password": "correct horse battery"}
        )
        cookie, csrf = r.cookies["parley_session"], r.json()["csrf_token"]
    async with (
        WsClient.connect(world.node.ws_url) as this,
        WsClient.connect(world.node.ws_url) as other,
    ):
        await this.hello(token=cookie)
        await other.hello(token=other_session)
        async with world.node.http(cookies={"parley_session": cookie}) as http:
            r = await http.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
            assert r.status_code == 204, r.text
        assert await closed_code(this) == 1008
        assert (await other.request({"type": "ping"}))["type"] == "pong"


async def test_nodes_starting_together_agree_on_the_server_key(world: World) -> None:
    name = "test-key-" + secrets.token_hex(4)

    async def claim(candidate: str) -> str:
        async with world.parley.db.write() as tx:
            return await world.parley.stores.staff.server_key(tx, name, candidate)

    keys = await asyncio.gather(*(claim(f"candidate-{i}") for i in range(6)))
    assert len(set(keys)) == 1
