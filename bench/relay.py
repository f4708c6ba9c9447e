"""The floors of the side-by-side benchmark: a WebSocket relay with no persistence at all.

``bench/side_by_side.py`` runs this as its own process, pinned to the server's core, and drives
it with the same load as Parley. Two stacks, to separate what the WebSocket stack costs from
what Parley adds:

- ``--stack websockets``: plain ``websockets`` (its asyncio server);
- ``--stack uvicorn``: a bare ASGI app on uvicorn with the WebSocket implementation Parley runs
  on (``websockets-sansio``, what uvicorn picks when websockets is installed) and httptools.

Both run on uvloop, as ``parley serve`` does, and neither compresses (no permessage-deflate).

The wire is Parley's, reduced to what the load needs (see ``docs/performance.md``):

- ``{"type": "hello", "key": "visitor" | "user:<n>", "follow": [conversation ids]}`` is
  answered with ``welcome`` then ``synced``;
- ``{"type": "ping", "ref"}`` with ``pong``;
- ``{"type": "typing", "conversation_id", "active"}`` is relayed as ``typing`` to the
  conversation's other connections;
- ``{"type": "send", "ref", "conversation_id", "client_id", "text"}`` costs ``--frames`` frames:

  * ``1`` (``floor_bare``): the frame, parsed to find its conversation, is forwarded unchanged
    to the conversation's other connections; the sender gets nothing;
  * ``2``: an ``entry`` (with a sequence number and a timestamp) to the others, and an ``ack``
    carrying the entry to the sender (Parley once the sender gets one frame);
  * ``3``: as ``2``, plus the ``entry`` to the sender just before its ``ack`` (Parley before
    that change: protocol.md, "On the connection that sent it, the entry ... arrives just
    before its ack").

    python bench/relay.py --stack websockets --frames 3 --port 9001
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

SendText = Callable[[str], Awaitable[None]]


class Relay:
    """Conversations and their connections, in memory; the sequence numbers of each."""

    def __init__(self, frames: int) -> None:
        if frames not in (1, 2, 3):
            raise ValueError("frames is 1, 2 or 3")
        self.frames = frames
        self.members: dict[str, list[Member]] = {}
        self.seqs: dict[str, int] = {}


class Member:
    __slots__ = ("follow", "key", "send")

    def __init__(self, key: str, send: SendText, follow: list[str]) -> None:
        self.key = key
        self.send = send
        self.follow = follow


async def handle(relay: Relay, recv: Callable[[], Awaitable[str | None]], send: SendText) -> None:
    """One connection: ``hello`` first, then frames until ``recv`` returns None."""
    first = await recv()
    if first is None:
        return
    hello = json.loads(first)
    if hello.get("type") != "hello":
        return
    member = Member(str(hello.get("key", "visitor")), send, list(hello.get("follow", [])))
    for cid in member.follow:
        relay.members.setdefault(cid, []).append(member)
        relay.seqs.setdefault(cid, 0)
    await send('{"type":"welcome"}')
    await send('{"type":"synced"}')
    frames = relay.frames
    try:
        while (text := await recv()) is not None:
            message: dict[str, Any] = json.loads(text)
            kind = message.get("type")
            if kind == "send":
                cid = message["conversation_id"]
                others = [m for m in relay.members.get(cid, ()) if m is not member]
                if frames == 1:
                    for other in others:
                        await other.send(text)
                    continue
                seq = relay.seqs[cid] = relay.seqs.get(cid, 0) + 1
                entry = {
                    "seq": seq,
                    "kind": "message",
                    "author": member.key,
                    "body": {"text": message["text"]},
                    "client_id": message["client_id"],
                    "created_at": datetime.now(UTC).isoformat(),
                }
                frame = json.dumps({"type": "entry", "conversation_id": cid, "entry": entry})
                for other in others:
                    await other.send(frame)
                if frames == 3:
                    await send(frame)
                ack = {"type": "ack", "ref": message.get("ref"), "conversation_id": cid}
                await send(json.dumps({**ack, "entry": entry}))
            elif kind == "typing":
                cid = message["conversation_id"]
                frame = json.dumps(
                    {
                        "type": "typing",
                        "conversation_id": cid,
                        "participant": member.key,
                        "active": bool(message.get("active")),
                    }
                )
                for other in relay.members.get(cid, ()):
                    if other is not member:
                        await other.send(frame)
            elif kind == "ping":
                await send(json.dumps({"type": "pong", "ref": message.get("ref")}))
    finally:
        for cid in member.follow:
            members = relay.members.get(cid, [])
            if member in members:
                members.remove(member)


async def serve_websockets(relay: Relay, host: str, port: int) -> None:
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.exceptions import ConnectionClosed

    async def handler(ws: ServerConnection) -> None:
        async def recv() -> str | None:
            try:
                data = await ws.recv()
            except ConnectionClosed:
                return None
            return data if isinstance(data, str) else data.decode()

        async def send(text: str) -> None:
            with contextlib.suppress(ConnectionClosed):
                await ws.send(text)

        await handle(relay, recv, send)

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(
        handler,
        host,
        port,
        compression=None,
        ping_interval=None,
        max_size=65536,
        backlog=4096,
    ):
        print(f"listening on {host}:{port}", flush=True)
        await stop


def asgi_app(relay: Relay) -> Callable[..., Awaitable[None]]:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["type"] != "websocket":
            return
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        closed = False

        async def recv_text() -> str | None:
            nonlocal closed
            while True:
                event = await receive()
                if event["type"] == "websocket.disconnect":
                    closed = True
                    return None
                text = event.get("text")
                if text is not None:
                    return str(text)
                data = event.get("bytes")
                if data is not None:
                    return bytes(data).decode()

        async def send_text(text: str) -> None:
            if closed:
                return
            with contextlib.suppress(Exception):  # the peer went away meanwhile
                await send({"type": "websocket.send", "text": text})

        await handle(relay, recv_text, send_text)

    return app


def serve_uvicorn(relay: Relay, host: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(
        asgi_app(relay),
        host=host,
        port=port,
        ws="websockets-sansio",
        http="httptools",
        ws_per_message_deflate=False,
        ws_ping_interval=None,
        ws_max_size=65536,
        lifespan="on",
        log_level="warning",
        backlog=4096,
    )
    server = uvicorn.Server(config)
    print(f"listening on {host}:{port}", flush=True)
    server.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", choices=["websockets", "uvicorn"], required=True)
    parser.add_argument("--frames", type=int, choices=[1, 2, 3], required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    relay = Relay(args.frames)
    if args.stack == "websockets":
        import uvloop

        uvloop.run(serve_websockets(relay, args.host, args.port))
    else:
        serve_uvicorn(relay, args.host, args.port)
    sys.exit(0)


if __name__ == "__main__":
    main()
