"""Message benchmark: end-to-end latency and throughput of chat messages through one node.

Starts a node in-process on a random port (SQLite in a temporary directory, or the database
and Redis given by PARLEY_BENCH_DATABASE_URL / PARLEY_BENCH_REDIS_URL), opens CHATS chats each
accepted by one of AGENTS agents, then every visitor sends MESSAGES messages one after another
(waiting for each ack). Reports the ack latency (commit included) and the time until the agent
receives the message, as percentiles, and the overall message rate.

    python bench/messages.py [--chats 20] [--messages 50] [--agents 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from parley.bootstrap import build
from parley.domain.access import StaffRole
from parley.services.admin import WorkgroupSettings
from parley.settings import Settings
from parley.web.app import create_app, drain


async def recv_until(ws: ClientConnection, pred: Any) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if pred(message):
            return dict(message)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def main(chats: int, messages: int, agents: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=os.environ.get("PARLEY_BENCH_DATABASE_URL"),
            redis_url=os.environ.get("PARLEY_BENCH_REDIS_URL"),
            # One client address opens every chat and sends as fast as acks come back: the
            # limits on abuse (docs/security.md) would measure themselves instead.
            chat_ip_limit="100000 per minute",
            chat_workgroup_limit="100000 per minute",
            ws_message_limit="100000 per second",
        )
        parley = build(settings)
        config = uvicorn.Config(
            create_app(parley), port=0, log_level="warning", ws_ping_interval=None
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup()
        port = server.servers[0].sockets[0].getsockname()[1]
        base, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws"
        per_agent = -(-chats // agents)
        await parley.admin.create_workgroup(
            None, "bench", WorkgroupSettings("Bench", max_chats=min(100, per_agent))
        )
        tokens = []
        async with httpx.AsyncClient(base_url=base) as http:
            for i in range(agents):
                await parley.admin.create_user(
                    None, f"agent{i}", "benchmark-pw", StaffRole.AGENT, workgroups=["bench"]
                )
                r = await http.post(
                    "/api/v1/auth/login", json={"username": f"agent{i}", "password": "benchmark-pw"}
                )
                tokens.append(r.cookies["parley_session"])
            agent_ws = [await connect(ws_url, max_size=None) for _ in range(agents)]
            for ws, token in zip(agent_ws, tokens, strict=True):
                await ws.send(json.dumps({"type": "hello", "token": token}))
                await recv_until(ws, lambda m: m["type"] == "synced")
                await ws.send(json.dumps({"type": "set_presence", "presence": "available"}))
            opened = [
                (await http.post("/api/v1/workgroups/bench/chats", json={"name": f"v{i}"})).json()
                for i in range(chats)
            ]
        # Accept every offer.
        received: dict[str, float] = {}
        all_received = asyncio.Event()
        expected = chats * messages

        async def agent_loop(ws: ClientConnection) -> None:
            async for raw in ws:
                m = json.loads(raw)
                if m["type"] == "offer":
                    await ws.send(
                        json.dumps({"type": "accept_offer", "offer_id": m["offer"]["offer_id"]})
                    )
                elif m["type"] == "entry" and m["entry"]["kind"] == "message":
                    received[m["entry"]["client_id"]] = time.perf_counter()
                    if len(received) == expected:
                        all_received.set()

        loops = [asyncio.create_task(agent_loop(ws)) for ws in agent_ws]
        visitors = []
        for chat in opened:
            ws = await connect(ws_url, max_size=None)
            await ws.send(json.dumps({"type": "hello", "visitor_token": chat["visitor_token"]}))
            visitors.append((ws, chat["conversation"]["id"]))
        for ws, _ in visitors:
            # The agent's "joined" entry comes in the catch-up or live, whichever is first.
            await recv_until(ws, lambda m: m["type"] == "entry" and m["entry"]["kind"] == "joined")

        acks: list[float] = []
        sent_at: dict[str, float] = {}

        async def visitor_loop(index: int, ws: ClientConnection, cid: str) -> None:
            for n in range(messages):
                client_id = f"v{index}-{n}"
                start = time.perf_counter()
                sent_at[client_id] = start
                await ws.send(
                    json.dumps(
                        {
                            "type": "send",
                            "conversation_id": cid,
                            "client_id": client_id,
                            "text": "hello " * 8,
                            "ref": client_id,
                        }
                    )
                )
                await recv_until(ws, lambda m, r=client_id: m.get("ref") == r)
                acks.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(visitor_loop(i, ws, cid) for i, (ws, cid) in enumerate(visitors)))
        total = chats * messages
        await asyncio.wait_for(all_received.wait(), 60)
        elapsed = time.perf_counter() - began
        delivery = [received[k] - sent_at[k] for k in sent_at]
        backend = "postgresql+redis" if settings.database_url else "sqlite"
        print(f"backend={backend} chats={chats} messages/chat={messages} agents={agents}")
        print(f"messages: {total} in {elapsed:.2f} s = {total / elapsed:.0f} msg/s")
        for name, values in (("ack", acks), ("delivery", delivery)):
            print(
                f"{name:9s} ms: p50 {1000 * statistics.median(values):.1f}  "
                f"p90 {1000 * pct(values, 0.9):.1f}  p99 {1000 * pct(values, 0.99):.1f}  "
                f"max {1000 * max(values):.1f}"
            )
        stats = parley.writes.stats
        if stats.batches:
            print(
                f"group commit: {stats.batches} batches, {stats.items / stats.batches:.1f} "
                f"sends per batch on average, largest {stats.largest_batch}, "
                f"{stats.fallbacks} sent the ordinary way"
            )
        for task in loops:
            task.cancel()
        for ws, _ in visitors:
            await ws.close()
        for ws in agent_ws:
            await ws.close()
        for s in server.servers:
            s.close()
        await drain(parley)
        await server.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--agents", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.chats, args.messages, args.agents))
