"""Admission control (docs/protocol.md, close 1013 and ``busy``; docs/operations.md): at most
``max_hellos_in_flight`` hellos are handled at once on a node; one more is answered at once
with ``error`` ``busy`` (``retry_after``) and close 1013, and comes in once a slot is free.

Hellos are held in flight by making the node's resume wait for the test: no sleeps, no timing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_world
from tests.support import World, WsClient
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from parley.domain.access import StaffRole
from parley.services.limits import InFlightCap
from parley.settings import Settings

RECV = 10.0


@asynccontextmanager
async def world_with(backend: str, tmp_path: Path, **overrides: Any) -> AsyncIterator[World]:
    worlds = make_world(backend, tmp_path, **overrides)
    world = await worlds.__anext__()
    try:
        await world.add_workgroup("sales")
        yield world
    finally:
        await worlds.aclose()


class Held:
    """Wraps an async method of a service: each call waits until the test lets it go."""

    def __init__(self, original: Callable[..., Awaitable[Any]]) -> None:
        self.original = original
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.done = asyncio.Event()

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        await self.release.wait()
        try:
            return await self.original(*args, **kwargs)
        finally:
            # Set before the caller goes on, which it does in this same step: by the time a
            # waiter of ``done`` runs, the rest of the hello up to its next await has run.
            self.done.set()


async def refused_busy(ws: ClientConnection) -> dict[str, Any]:
    error = json.loads(await asyncio.wait_for(ws.recv(), RECV))
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), RECV)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1013
    return dict(error)


async def test_a_hello_past_the_cap_is_refused_busy_at_once_and_comes_in_later(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with world_with(backend, tmp_path, max_hellos_in_flight=1) as world:
        chat = await world.open_chat()
        token = chat["visitor_token"]
        held = Held(world.parley.chat.resume_visitor)
        monkeypatch.setattr(world.parley.chat, "resume_visitor", held)
        async with WsClient.connect(world.node.ws_url) as first:
            await first.send({"type": "hello", "visitor_token": token})
            await asyncio.wait_for(held.entered.wait(), RECV)  # in flight, holding the slot
            async with connect(world.node.ws_url, open_timeout=RECV) as second:
                await second.send(json.dumps({"type": "hello", "visitor_token": token}))
                error = await refused_busy(second)  # answered while the first still waits
            assert error["type"] == "error"
            assert error["code"] == "busy"
            assert error["retry_after"] == 1
            assert world.parley.limiter.refusals["max_hellos_in_flight"] == 1
            held.release.set()
            await first.expect_type("synced")
        # The slot is free again: the next hello comes in.
        async with WsClient.connect(world.node.ws_url) as third:
            await third.hello(visitor_token=token)
        assert world.parley.hellos.in_flight == 0


async def test_staff_hellos_count_until_synced_and_a_failed_hello_frees_its_slot(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with world_with(backend, tmp_path, max_hellos_in_flight=1) as world:
        token = await world.add_staff("alice", StaffRole.AGENT, ["sales"])
        # A refused hello (bad credentials, 1008) gives its slot back.
        async with connect(world.node.ws_url, open_timeout=RECV) as bad:
            await bad.send(json.dumps({"type": "hello", "token": "not-a-token"}))
            error = json.loads(await asyncio.wait_for(bad.recv(), RECV))
            assert error["code"] == "unauthenticated"
        held = Held(world.parley.snapshots.ephemeral)
        monkeypatch.setattr(world.parley.snapshots, "ephemeral", held)
        async with WsClient.connect(world.node.ws_url) as first:
            await first.send({"type": "hello", "token": token})
            # The staff hello is past its welcome, in its snapshot: still in flight.
            await asyncio.wait_for(held.entered.wait(), RECV)
            await first.expect_type("welcome")
            async with connect(world.node.ws_url, open_timeout=RECV) as second:
                await second.send(json.dumps({"type": "hello", "token": token}))
                assert (await refused_busy(second))["code"] == "busy"
            held.release.set()
            await first.expect_type("synced")
            monkeypatch.setattr(world.parley.snapshots, "ephemeral", held.original)
            async with WsClient.connect(world.node.ws_url) as again:
                await again.hello(token=token)
        assert world.parley.hellos.in_flight == 0


async def test_a_client_that_leaves_during_its_hello_frees_its_slot(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with world_with(backend, tmp_path, max_hellos_in_flight=1) as world:
        token = await world.add_staff("alice", StaffRole.AGENT, ["sales"])
        held = Held(world.parley.snapshots.ephemeral)
        monkeypatch.setattr(world.parley.snapshots, "ephemeral", held)
        async with WsClient.connect(world.node.ws_url) as first:
            await first.send({"type": "hello", "token": token})
            await asyncio.wait_for(held.entered.wait(), RECV)
        # Gone mid-hello; the held step then finds the socket closed.
        held.release.set()
        await asyncio.wait_for(held.done.wait(), RECV)
        assert world.parley.hellos.in_flight == 0
        monkeypatch.setattr(world.parley.snapshots, "ephemeral", held.original)
        async with WsClient.connect(world.node.ws_url) as second:
            await second.hello(token=token)


def test_the_cap_counts_and_refuses_past_its_limit() -> None:
    cap = InFlightCap(2)
    assert cap.acquire() and cap.acquire()
    assert not cap.acquire()
    cap.release()
    assert cap.acquire()
    assert cap.in_flight == 2


def test_a_hundred_and_twenty_eight_hellos_in_flight_by_default() -> None:
    assert Settings().max_hellos_in_flight == 128
