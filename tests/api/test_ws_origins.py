"""Cross-site WebSocket hijacking: which credentials each origin may use.

The session cookie is ambient (the browser adds it whichever page opens the socket), so it
authenticates only sockets opened by Parley's own pages. Allowed origins are for visitors, who
carry a visitor token, and for staff clients that send a bearer token in ``hello``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_world
from tests.support import RECV_TIMEOUT_SECS, World
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

SHOP = "https://shop.example"


@pytest.fixture
async def shop_world(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    """A node that lets the company site https://shop.example open sockets (its widget)."""
    async for w in make_world(backend, tmp_path, allowed_origins=[SHOP]):
        await w.add_workgroup("sales")
        await w.add_staff("alice", workgroups=["sales"])
        yield w


def connect_from(world: World, origin: str | None, cookie: str | None = None) -> Any:
    headers = {}
    if origin is not None:
        headers["Origin"] = origin
    if cookie is not None:
        headers["Cookie"] = f"parley_session={cookie}"
    return connect(world.node.ws_url, open_timeout=RECV_TIMEOUT_SECS, additional_headers=headers)


async def hello(ws: ClientConnection, **fields: Any) -> tuple[list[dict[str, Any]], int | None]:
    """Say hello; return what came back up to ``synced`` (None) or the close code."""
    await ws.send(json.dumps({"type": "hello", **fields}))
    got: list[dict[str, Any]] = []
    try:
        while not got or got[-1]["type"] != "synced":
            got.append(json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_SECS)))
    except ConnectionClosed as closed:
        return got, 1006 if closed.rcvd is None else closed.rcvd.code
    return got, None


def own(world: World) -> str:
    return f"http://127.0.0.1:{world.node.port}"


async def test_session_cookie_from_an_allowed_foreign_origin_is_refused(
    shop_world: World,
) -> None:
    world = shop_world
    cookie = world.tokens["alice"]
    async with connect_from(world, SHOP, cookie) as ws:
        got, code = await hello(ws)
    assert code == 1008
    assert [m["code"] for m in got if m["type"] == "error"] == ["forbidden"]
    assert not [m for m in got if m["type"] == "welcome"]
    # Not a browser, no Origin: a cookie is not enough there either (send the token instead).
    async with connect_from(world, None, cookie) as ws:
        got, code = await hello(ws)
    assert code == 1008
    # From Parley's own pages the cookie works, as the console uses it.
    async with connect_from(world, own(world), cookie) as ws:
        got, code = await hello(ws)
        assert code is None
        assert got[0]["session"]["username"] == "alice"
        assert (await _ping(ws))["type"] == "pong"


async def test_visitor_token_and_bearer_token_from_an_allowed_origin_are_accepted(
    shop_world: World,
) -> None:
    world = shop_world
    chat = await world.open_chat()
    async with connect_from(world, SHOP) as ws:
        got, code = await hello(ws, visitor_token=chat["visitor_token"])
    assert code is None
    assert got[0]["session"]["conversation_id"] == chat["conversation"]["id"]
    async with connect_from(world, SHOP) as ws:
        got, code = await hello(ws, token=world.tokens["alice"])
    assert code is None
    assert got[0]["session"]["username"] == "alice"
    # A bearer token wins over a cookie sent along with it, whatever the origin.
    async with connect_from(world, SHOP, "not-a-session") as ws:
        got, code = await hello(ws, token=world.tokens["alice"])
    assert code is None


async def test_origins_that_are_not_allowed_are_refused_at_the_upgrade(shop_world: World) -> None:
    world = shop_world
    for origin in ["https://evil.example", "http://shop.example", "null"]:
        with pytest.raises(InvalidStatus) as refused:
            async with connect_from(world, origin, world.tokens["alice"]):
                pass
        assert refused.value.response.status_code == 403, origin


async def test_public_url_is_the_servers_own_origin(tmp_path: Path) -> None:
    """Behind a proxy the Host header may be the proxy's upstream: the public URL decides."""
    public = "https://chat.example.com"
    async for world in make_world("sqlite", tmp_path, public_url=public + "/"):
        await world.add_staff("alice")
        cookie = world.tokens["alice"]
        async with connect_from(world, public, cookie) as ws:
            got, code = await hello(ws)
        assert code is None
        assert got[0]["session"]["username"] == "alice"
        # The origin built from the Host header is no longer the server's own.
        with pytest.raises(InvalidStatus) as refused:
            async with connect_from(world, own(world), cookie):
                pass
        assert refused.value.response.status_code == 403


async def _ping(ws: ClientConnection) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "ping", "ref": "p"}))
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_SECS))
        if message.get("ref") == "p":
            return dict(message)
