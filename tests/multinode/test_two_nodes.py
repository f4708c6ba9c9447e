"""Two ``parley serve`` processes sharing one PostgreSQL schema and one Redis channel.

Each test starts its own cluster: a fresh schema, a fresh pub/sub channel, accounts made with
the ``parley admin`` commands, then node A and, once A runs every workgroup's dispatcher, node
B, and waits until the two share the workgroups (``Cluster.wait_shared``). Which node runs which
workgroup follows from the node ids, which are random per cluster: tests ask
(``Cluster.owner``) rather than assume.

The only waits by polling are bounded ones on a condition: process start-up (the port,
``/readyz``) and the dispatcher locks in ``pg_locks`` (``Cluster.wait_locks``); every event
under test is awaited on a WebSocket with ``WsClient``'s bounded receive timeout.

``serve`` takes the Redis channel from PARLEY_REDIS_CHANNEL (it has no option for it). Node ids
and database application names carry a per-cluster id: other tests share the Redis server and
look nodes up by name there.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support import (
    PASSWORD,
    PG_URL,
    REDIS_URL,
    WsClient,
    check_redis,
    http_client,
    postgres_schema,
)
from websockets.exceptions import ConnectionClosed

pytestmark = pytest.mark.slow

PARLEY = [sys.executable, "-c", "from parley.cli import main; main()"]
#: --dispatch-takeover-secs: nodes step every 0.75 s, PostgreSQL ends a silent session (or one
#: idle in a transaction) after 2.25 s.
TAKEOVER_SECS = 3.0
#: What a takeover may take beyond TAKEOVER_SECS on a busy test machine (polling included).
TAKEOVER_MARGIN_SECS = 2.0
OFFER_TIMEOUT_SECS = 5  # the smallest a workgroup accepts
CLI_TIMEOUT_SECS = 60.0
STARTUP_POLLS = 100  # x POLL_SECS: bounded waits for process start-up only
POLL_SECS = 0.1
# A node's process imports for several seconds when the machine is busy (seen: 7 s at load 8).
LISTEN_TIMEOUT_SECS = 60.0
STOP_TIMEOUT_SECS = 15.0  # drain (5 s) + uvicorn's graceful shutdown, with margin
LOG_TAIL_LINES = 80

_LISTENING = re.compile(r"Uvicorn running on http://[^:]+:(\d+)")
_SCHEMA = re.compile(r"search_path%3D(\w+)")
_PLAIN_PG_URL = PG_URL.replace("postgresql+psycopg://", "postgresql://")


def _child_env(**parley: str) -> dict[str, str]:
    """The test's environment with only the given PARLEY_* settings (the rest are options)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update({f"PARLEY_{k.upper()}": v for k, v in parley.items()})
    return env


@dataclass
class NodeProcess:
    name: str
    proc: asyncio.subprocess.Process
    output: list[str] = field(default_factory=list)
    port: int | None = None
    _listening: asyncio.Event = field(default_factory=asyncio.Event)
    _eof: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None

    #: Unique to the cluster: other tests may look up nodes by id on the shared Redis.
    cluster_id: str = ""

    @property
    def node_id(self) -> str:
        return f"node-{self.name}-{self.cluster_id}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def http(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return http_client(self.base_url, headers=headers)

    def start_reading(self) -> None:
        self._reader = asyncio.create_task(self._read(), name=f"output-of-{self.node_id}")

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            async for raw in self.proc.stdout:
                line = raw.decode(errors="replace").rstrip()
                self.output.append(line)
                match = _LISTENING.search(line)
                if match and self.port is None:
                    self.port = int(match.group(1))
                    self._listening.set()
        finally:
            self._eof.set()

    async def wait_listening(self) -> None:
        """Until uvicorn logs its port (``--port 0``), or fail if the process ends first."""
        listening = asyncio.ensure_future(self._listening.wait())
        eof = asyncio.ensure_future(self._eof.wait())
        try:
            await asyncio.wait(
                {listening, eof},
                timeout=LISTEN_TIMEOUT_SECS,
                return_when="FIRST_COMPLETED",
            )
        finally:
            for task in (listening, eof):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.port is None:
            pytest.fail(f"{self.node_id} did not start listening\n{self.log()}")

    async def wait_ready(self) -> None:
        async with self.http() as http:
            for _ in range(STARTUP_POLLS):
                with contextlib.suppress(httpx.HTTPError):
                    r = await http.get("/readyz")
                    if r.status_code == 200:
                        return
                if self.proc.returncode is not None:
                    break
                await asyncio.sleep(POLL_SECS)
        pytest.fail(f"{self.node_id} never became ready\n{self.log()}")

    async def wait_exit(self, within_secs: float) -> int | None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), within_secs)
        return self.proc.returncode

    async def stop(self) -> None:
        """Terminate (then kill after a bounded wait); always reap the process and its pipe."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            if await self.wait_exit(STOP_TIMEOUT_SECS) is None:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reader, 5)
            if not self._reader.done():
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reader

    def log(self) -> str:
        tail = self.output[-LOG_TAIL_LINES:]
        return f"--- output of {self.node_id} (exit {self.proc.returncode}) ---\n" + "\n".join(tail)


@dataclass
class Cluster:
    database_url: str
    schema: str
    channel: str
    data_dir: Path
    nodes: dict[str, NodeProcess] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    #: Names this cluster's database sessions (application_name), to tell its locks apart.
    id: str = field(default_factory=lambda: secrets.token_hex(4))

    def logs(self) -> str:
        return "\n".join(node.log() for node in self.nodes.values())

    async def cli(self, *args: str, stdin: str | None = None) -> str:
        proc = await asyncio.create_subprocess_exec(
            *PARLEY,
            *args,
            "--database-url",
            self.database_url,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=_child_env(),
        )
        try:
            out, _ = await asyncio.wait_for(
                proc.communicate(None if stdin is None else stdin.encode()), CLI_TIMEOUT_SECS
            )
        except BaseException as exc:  # timed out, or the test is failing elsewhere
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            if isinstance(exc, TimeoutError):
                pytest.fail(f"parley {' '.join(args)} did not finish in {CLI_TIMEOUT_SECS} s")
            raise
        text = out.decode(errors="replace")
        assert proc.returncode == 0, f"parley {' '.join(args)} failed:\n{text}"
        return text

    async def create_user(self, username: str, role: str) -> None:
        await self.cli(
            "admin",
            "create-user",
            "--username",
            username,
            "--role",
            role,
            "--display-name",
            username.capitalize(),
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )

    async def start_node(self, name: str) -> NodeProcess:
        url = f"{self.database_url}&application_name=parley-{self.id}-{name}"
        proc = await asyncio.create_subprocess_exec(
            *PARLEY,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--data-dir",
            str(self.data_dir / name),
            "--database-url",
            url,
            "--redis-url",
            REDIS_URL,
            "--dispatch-takeover-secs",
            str(TAKEOVER_SECS),
            "--node-id",
            f"node-{name}-{self.id}",
            "--log-level",
            "info",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # `serve` has no --redis-channel option; Settings reads it from the environment.
            env=_child_env(redis_channel=self.channel),
        )
        node = NodeProcess(name, proc, cluster_id=self.id)
        self.nodes[name] = node
        node.start_reading()
        await node.wait_listening()
        await node.wait_ready()
        return node

    async def dispatch_locks(self) -> tuple[set[str], dict[str, set[str]]]:
        """What ``pg_locks`` says of this cluster's dispatcher locks: the live nodes (holders of
        a ``(hashtext(schema || '/dispatch-nodes'), ident)`` lock), and for each node the
        workgroups (slugs) whose ``(hashtext(schema || '/dispatcher'), id)`` lock it holds."""
        import psycopg
        from psycopg import sql

        query = sql.SQL(
            """
            SELECT substr(a.application_name, length(%(prefix)s) + 1) AS node,
                   l.classid::bigint = (hashtext(%(nodes)s)::bigint & 4294967295) AS is_node,
                   w.slug
            FROM pg_locks l
            JOIN pg_stat_activity a ON a.pid = l.pid
            LEFT JOIN {}.workgroups w ON w.id = l.objid::bigint
                AND l.classid::bigint = (hashtext(%(workgroups)s)::bigint & 4294967295)
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND starts_with(a.application_name, %(prefix)s)
            """
        ).format(sql.Identifier(self.schema))
        async with await psycopg.AsyncConnection.connect(_PLAIN_PG_URL, autocommit=True) as conn:
            cur = await conn.execute(
                query,
                {
                    "nodes": f"{self.schema}/dispatch-nodes",
                    "workgroups": f"{self.schema}/dispatcher",
                    "prefix": f"parley-{self.id}-",
                },
            )
            rows = await cur.fetchall()
        live = {str(node) for node, is_node, _ in rows if is_node}
        held: dict[str, set[str]] = {}
        for node, is_node, slug in rows:
            assert is_node or slug is not None, rows  # no other advisory lock is held
            if not is_node:
                held.setdefault(str(node), set()).add(str(slug))
        return live, held

    async def workgroup_slugs(self) -> set[str]:
        import psycopg
        from psycopg import sql

        query = sql.SQL("SELECT slug FROM {}.workgroups").format(sql.Identifier(self.schema))
        async with await psycopg.AsyncConnection.connect(_PLAIN_PG_URL, autocommit=True) as conn:
            cur = await conn.execute(query)
            return {str(slug) for (slug,) in await cur.fetchall()}

    async def wait_locks(
        self, what: str, done: Callable[[set[str], dict[str, set[str]], set[str]], bool]
    ) -> dict[str, set[str]]:
        """Poll ``dispatch_locks`` (bounded) until ``done(live, held, every slug)``; returns
        the workgroups each node holds then."""
        live: set[str] = set()
        held: dict[str, set[str]] = {}
        for _ in range(STARTUP_POLLS):
            live, held = await self.dispatch_locks()
            if done(live, held, await self.workgroup_slugs()):
                return held
            await asyncio.sleep(POLL_SECS)
        bound = STARTUP_POLLS * POLL_SECS
        pytest.fail(f"{what}: not so after {bound} s: {live} {held}\n{self.logs()}")

    async def wait_shared(self, *names: str) -> dict[str, set[str]]:
        """Until exactly the nodes ``names`` are live and share the workgroups: each held by
        one of them, none by two, and each node holding its part (W // N or one more)."""

        def shared(live: set[str], held: dict[str, set[str]], slugs: set[str]) -> bool:
            parts = [held.get(n, set()) for n in names]
            sizes = [len(p) for p in parts]
            return (
                live == set(names)
                and set(held) <= set(names)
                and sum(sizes) == len(slugs)
                and set().union(*parts) == slugs
                and max(sizes) - min(sizes) <= 1
            )

        return await self.wait_locks(f"nodes {names} sharing the workgroups", shared)

    async def owner(self, slug: str) -> str:
        _, held = await self.dispatch_locks()
        owners = [node for node, slugs in held.items() if slug in slugs]
        assert len(owners) == 1, (slug, held)
        return owners[0]

    async def offers_of(self, request_id: str) -> list[dict[str, Any]]:
        import psycopg
        from psycopg import sql
        from psycopg.rows import dict_row

        query = sql.SQL(
            "SELECT offer_id, agent_id, status, offered_at, ended_at FROM {}.offers "
            "WHERE request_id = %s ORDER BY offered_at, offer_id"
        ).format(sql.Identifier(self.schema))
        async with await psycopg.AsyncConnection.connect(
            _PLAIN_PG_URL, autocommit=True, row_factory=dict_row
        ) as conn:
            cur = await conn.execute(query, (request_id,))
            return list(await cur.fetchall())

    async def login(self, node: NodeProcess, username: str) -> str:
        async with node.http() as http:
            r = await http.post(
                "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            token = r.cookies["parley_session"]
        self.tokens[username] = token
        return token

    @contextlib.asynccontextmanager
    async def agent(self, node: NodeProcess, username: str) -> AsyncIterator[WsClient]:
        token = self.tokens.get(username) or await self.login(node, username)
        async with WsClient.connect(node.ws_url) as ws:
            welcome = await ws.hello(token=token, cursors={})
            assert welcome["node_id"] == node.node_id
            ok = await ws.request({"type": "set_presence", "presence": "available"})
            assert ok["type"] == "ok", ok
            yield ws

    @contextlib.asynccontextmanager
    async def visitor(
        self, node: NodeProcess, token: str, cursors: dict[str, int] | None = None
    ) -> AsyncIterator[WsClient]:
        async with WsClient.connect(node.ws_url) as ws:
            welcome = await ws.hello(visitor_token=token, cursors=cursors or {})
            assert welcome["node_id"] == node.node_id
            yield ws


async def _together(*jobs: Awaitable[None]) -> None:
    """Run jobs concurrently; if one fails, cancel (and wait for) the others."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


@contextlib.asynccontextmanager
async def running_cluster(tmp_path: Path, nodes: tuple[str, ...]) -> AsyncIterator[Cluster]:
    """A schema made by ``parley migrate``; accounts alice and bob (agents of 'sales') and carol
    (admin) made by the ``parley admin`` commands; and the nodes, each started once the ones
    before share the workgroups. (The accounts are made while the first node starts: nodes
    read them from the database when they are used.)"""
    await check_redis()
    async with postgres_schema() as url:
        match = _SCHEMA.search(url)
        assert match is not None, url
        c = Cluster(
            database_url=url,
            schema=match.group(1),
            channel="parley-test:" + secrets.token_hex(4),
            data_dir=tmp_path,
        )

        async def make_accounts() -> None:
            await asyncio.gather(
                c.create_user("alice", "agent"),
                c.create_user("bob", "agent"),
                c.create_user("carol", "admin"),
            )
            await c.cli(
                "admin", "create-workgroup", "--slug", "sales", "--name", "Sales",
                "--member", "alice", "--member", "bob",
            )  # fmt: skip

        try:
            await c.cli("migrate")
            await _together(c.start_node(nodes[0]), make_accounts())
            await c.wait_shared(nodes[0])
            for i, name in enumerate(nodes[1:], 2):
                await c.start_node(name)
                await c.wait_shared(*nodes[:i])
            yield c
        finally:
            await asyncio.gather(*(node.stop() for node in c.nodes.values()))
            print(c.logs())  # shown by pytest when the test failed


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    """Nodes A and B, sharing the workgroups (only 'sales' at first: one of them runs it)."""
    async with running_cluster(tmp_path, ("a", "b")) as c:
        yield c


def _is_entry(kind: str, **body: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda m: (
        m.get("type") == "entry"
        and m["entry"]["kind"] == kind
        and all(m["entry"]["body"].get(k) == v for k, v in body.items())
    )


async def _first(*waits: Awaitable[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """Which of several receives completes first, and its message; the others are cancelled
    (``WsClient.expect`` keeps what it skipped, and cancelling a receive loses nothing)."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        task = min(done, key=tasks.index)
        return tasks.index(task), task.result()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def test_chat_across_two_nodes(cluster: Cluster) -> None:
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    async with cluster.agent(b, "alice") as alice:
        async with a.http() as http:
            r = await http.post(
                "/api/v1/workgroups/sales/chats", json={"name": "Zoe", "question": "Price?"}
            )
            assert r.status_code == 201, r.text
            chat = r.json()
        cid = chat["conversation"]["id"]

        async with cluster.visitor(a, chat["visitor_token"]) as zoe:
            offer = (await alice.expect_type("offer"))["offer"]
            assert offer["conversation_id"] == cid
            assert offer["offer_id"] == f"{cid}.1"
            assert offer["metadata"]["question"] == "Price?"
            reply = await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
            assert reply["type"] == "ok", reply
            state = await alice.expect_type("conversation")
            assert state["conversation"]["id"] == cid

            joined = await zoe.expect(_is_entry("joined"))
            assert joined["entry"]["body"]["name"] == "Alice"
            await zoe.expect_type("queue", status="accepted")

            # Visitor (node A) -> agent (node B).
            ack = await zoe.request(
                {"type": "send", "conversation_id": cid, "client_id": "z1", "text": "Hello from A"}
            )
            assert ack["type"] == "ack", ack
            got = await alice.expect(_is_entry("message", text="Hello from A"))
            assert got["entry"]["author"] == "visitor"

            # Agent (node B) -> visitor (node A).
            ack = await alice.request(
                {"type": "send", "conversation_id": cid, "client_id": "a1", "text": "Hi from B"}
            )
            assert ack["type"] == "ack", ack
            got = await zoe.expect(_is_entry("message", text="Hi from B"))
            assert got["entry"]["author"] != "visitor"

            # Typing crosses nodes both ways, and never echoes to its author.
            await alice.send({"type": "typing", "conversation_id": cid, "active": True})
            typing = await zoe.expect_type("typing", conversation_id=cid)
            assert typing["name"] == "Alice"
            assert typing["active"] is True
            await zoe.send({"type": "typing", "conversation_id": cid, "active": True})
            typing = await alice.expect_type("typing", conversation_id=cid)
            assert typing["name"] == "Zoe"
            assert typing["active"] is True

            reply = await zoe.request({"type": "end", "conversation_id": cid})
            assert reply["type"] == "ok", reply
            await alice.expect(_is_entry("ended"))
            await zoe.expect(_is_entry("ended"))

    assert not [m for m in zoe.received if m.get("type") == "typing" and m["name"] == "Zoe"]
    assert not [m for m in alice.received if m.get("type") == "typing" and m["name"] == "Alice"]

    token = cluster.tokens["alice"]
    transcripts = []
    for node in (a, b):
        async with node.http(token) as http:
            r = await http.get(f"/api/v1/conversations/{cid}")
            assert r.status_code == 200, r.text
            transcripts.append(r.json())
    assert transcripts[0] == transcripts[1]
    transcript = transcripts[0]
    assert transcript["conversation"]["status"] == "ended"
    kinds = [e["kind"] for e in transcript["entries"]]
    assert kinds == ["queued", "joined", "message", "message", "ended"]
    assert [e["body"].get("text") for e in transcript["entries"] if e["kind"] == "message"] == [
        "Hello from A",
        "Hi from B",
    ]
    # Each side saw every entry once, in order, whichever node wrote it.
    seqs = [e["seq"] for e in transcript["entries"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert [e["seq"] for e in alice.entries(cid)] == seqs
    assert [e["seq"] for e in zoe.entries(cid)] == seqs


async def test_the_other_node_takes_over_a_workgroup_when_its_dispatcher_dies(
    cluster: Cluster,
) -> None:
    owner = await cluster.owner("sales")
    a = cluster.nodes[owner]  # runs the dispatcher of 'sales', and dies
    b = cluster.nodes[{"a": "b", "b": "a"}[owner]]
    carol = await cluster.login(b, "carol")
    async with b.http(carol) as http:
        r = await http.put(
            "/api/v1/admin/workgroups/sales",
            json={
                "name": "Sales",
                "offer_timeout_secs": OFFER_TIMEOUT_SECS,
                "wait_timeout_secs": 300,
                "max_chats": 3,
            },
        )
        assert r.status_code == 200, r.text
    assert (await cluster.dispatch_locks())[1] == {a.name: {"sales"}}

    async with cluster.agent(b, "alice") as alice, cluster.agent(b, "bob") as bob:
        agents = {"alice": alice, "bob": bob}
        async with b.http() as http:
            r = await http.post("/api/v1/workgroups/sales/chats", json={"name": "Zoe"})
            assert r.status_code == 201, r.text
            chat = r.json()
        cid = chat["conversation"]["id"]

        # A dispatches; the offer reaches an agent on B through Redis.
        index, message = await _first(alice.expect_type("offer"), bob.expect_type("offer"))
        first_name = ["alice", "bob"][index]
        second_name = ["bob", "alice"][index]
        first, second = agents[first_name], agents[second_name]
        assert message["offer"]["offer_id"] == f"{cid}.1"

        a.proc.kill()
        assert await a.wait_exit(STOP_TIMEOUT_SECS) == -signal.SIGKILL
        killed_at = time.monotonic()

        # Nobody accepts: the offer times out on B, which took 'sales' over, and goes to the
        # other agent.
        ended = await first.expect_type("offer_ended", offer_id=f"{cid}.1")
        assert ended["reason"] == "timed_out"
        second_offer = (await second.expect_type("offer"))["offer"]
        waited = time.monotonic() - killed_at
        assert second_offer["offer_id"] == f"{cid}.2", cluster.logs()
        assert second_offer["conversation_id"] == cid
        assert waited <= OFFER_TIMEOUT_SECS + TAKEOVER_SECS + TAKEOVER_MARGIN_SECS, (
            waited,
            cluster.logs(),
        )
        assert await cluster.dispatch_locks() == ({b.name}, {b.name: {"sales"}})

        late = await first.request({"type": "accept_offer", "offer_id": f"{cid}.1"})
        assert late["type"] == "error", late
        assert late["code"] == "offer_gone", late
        reply = await second.request({"type": "accept_offer", "offer_id": f"{cid}.2"})
        assert reply["type"] == "ok", reply
        await second.expect_type("conversation")

        async with cluster.visitor(b, chat["visitor_token"]) as zoe:
            joined = await zoe.expect(_is_entry("joined"))
            assert joined["entry"]["body"]["name"] == second_name.capitalize()
            await zoe.request(
                {"type": "send", "conversation_id": cid, "client_id": "z1", "text": "Anyone?"}
            )
            await second.expect(_is_entry("message", text="Anyone?"))
            await second.request(
                {"type": "send", "conversation_id": cid, "client_id": "s1", "text": "Yes, me"}
            )
            await zoe.expect(_is_entry("message", text="Yes, me"))

        # Every offer either agent was sent: one each, distinct and sequential. (The protocol
        # lets an offer be sent again, as a snapshot, with the same id: count ids, and check
        # that a repeat is the same offer.)
        offers: dict[str, dict[str, dict[str, Any]]] = {}
        for name, ws in agents.items():
            for m in ws.received:
                if m.get("type") == "offer":
                    held = offers.setdefault(name, {})
                    assert held.setdefault(m["offer"]["offer_id"], m["offer"]) == m["offer"]
        assert {name: list(held) for name, held in offers.items()} == {
            first_name: [f"{cid}.1"],
            second_name: [f"{cid}.2"],
        }

    # The record agrees, and the two offers never were live at the same time.
    rows = await cluster.offers_of(cid)
    assert [(r["offer_id"], r["status"]) for r in rows] == [
        (f"{cid}.1", "timed_out"),
        (f"{cid}.2", "accepted"),
    ]
    assert rows[0]["agent_id"] != rows[1]["agent_id"]
    assert rows[0]["ended_at"] is not None
    assert rows[0]["ended_at"] <= rows[1]["offered_at"]

    # Nothing was lost: the conversation, with both messages, is on the surviving node.
    async with b.http(cluster.tokens[second_name]) as http:
        r = await http.get(f"/api/v1/conversations/{cid}")
        assert r.status_code == 200, r.text
    transcript = r.json()
    assert transcript["conversation"]["status"] == "active"
    assert [e["body"].get("text") for e in transcript["entries"] if e["kind"] == "message"] == [
        "Anyone?",
        "Yes, me",
    ]


async def test_sigterm_sends_clients_to_the_other_node(cluster: Cluster) -> None:
    owner = await cluster.owner("sales")
    a = cluster.nodes[owner]  # runs the dispatcher of 'sales', and stops
    b = cluster.nodes[{"a": "b", "b": "a"}[owner]]
    async with cluster.agent(a, "alice") as alice:
        async with a.http() as http:
            r = await http.post("/api/v1/workgroups/sales/chats", json={"name": "Zoe"})
            assert r.status_code == 201, r.text
            chat = r.json()
        cid = chat["conversation"]["id"]
        async with cluster.visitor(a, chat["visitor_token"]) as zoe:
            offer = (await alice.expect_type("offer"))["offer"]

            a.proc.send_signal(signal.SIGTERM)

            for ws in (alice, zoe):
                reconnect = await ws.expect_type("reconnect")
                assert reconnect["reason"]
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.expect(lambda m: False)
                assert closed.value.rcvd is not None, closed.value
                assert closed.value.rcvd.code == 1012
                # The reconnect message was the last one.
                assert ws.received[-1]["type"] == "reconnect"

    code = await a.wait_exit(STOP_TIMEOUT_SECS)
    assert code is not None, f"node {a.name} did not exit after SIGTERM\n" + cluster.logs()
    assert code == 0, f"node {a.name} exited with {code} after SIGTERM\n{cluster.logs()}"

    # Both reconnect to node B and resume: the pending offer is sent again, and the visitor,
    # resuming from its cursor, gets what follows it once.
    before = [e["seq"] for e in zoe.entries(cid)]
    assert before == [1]
    async with (
        cluster.agent(b, "alice") as alice,
        cluster.visitor(b, chat["visitor_token"], cursors={cid: before[-1]}) as zoe,
    ):
        again = (await alice.expect_type("offer"))["offer"]
        assert again["offer_id"] == offer["offer_id"]
        reply = await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        assert reply["type"] == "ok", reply
        await zoe.expect(_is_entry("joined"))
        await zoe.expect_type("queue", status="accepted")
        assert [e["seq"] for e in zoe.entries(cid)] == [2]

        # Node A let go of the dispatcher locks: node B now offers new chats.
        async with b.http() as http:
            r = await http.post("/api/v1/workgroups/sales/chats", json={"name": "Yan"})
            assert r.status_code == 201, r.text
        cid2 = r.json()["conversation"]["id"]
        new = (await alice.expect_type("offer"))["offer"]
        assert new["offer_id"] == f"{cid2}.1"
    assert await cluster.dispatch_locks() == ({b.name}, {b.name: {"sales"}})


# Dispatchers spread over the nodes -----------------------------------------------------------


async def _add_workgroups(cluster: Cluster, node: NodeProcess, *slugs: str) -> None:
    """Workgroups made at runtime through the admin API, with alice and bob as members."""
    token = cluster.tokens.get("carol") or await cluster.login(node, "carol")
    async with node.http(token) as http:
        for slug in slugs:
            r = await http.post(
                "/api/v1/admin/workgroups", json={"slug": slug, "name": slug.capitalize()}
            )
            assert r.status_code == 201, r.text
            r = await http.put(
                f"/api/v1/admin/workgroups/{slug}/members", json={"usernames": ["alice", "bob"]}
            )
            assert r.status_code == 200, r.text


async def _open_chat(node: NodeProcess, slug: str, name: str = "Zoe") -> str:
    async with node.http() as http:
        r = await http.post(f"/api/v1/workgroups/{slug}/chats", json={"name": name})
        assert r.status_code == 201, r.text
        return str(r.json()["conversation"]["id"])


async def _offered(*agents: WsClient) -> dict[str, WsClient]:
    """The next offer each agent gets: conversation id -> the agent it went to."""
    got = {}
    for ws in agents:
        offer = (await ws.expect_type("offer"))["offer"]
        got[offer["conversation_id"]] = ws
    return got


async def test_two_nodes_share_the_workgroups_and_a_new_one_gets_a_dispatcher(
    cluster: Cluster,
) -> None:
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    await _add_workgroups(cluster, a, "north", "south", "east", "west", "centre")
    held = await cluster.wait_shared("a", "b")
    assert sorted(len(slugs) for slugs in held.values()) == [3, 3]

    async with cluster.agent(b, "alice") as alice, cluster.agent(a, "bob") as bob:
        # A chat in a workgroup of each node, opened on the other node: each node's
        # dispatcher offers its own (to different agents: one live offer per agent).
        cids = {await _open_chat(b, min(held["a"])), await _open_chat(a, min(held["b"]))}
        offers = await _offered(alice, bob)
        assert set(offers) == cids
        for cid, ws in offers.items():
            reply = await ws.request({"type": "accept_offer", "offer_id": f"{cid}.1"})
            assert reply["type"] == "ok", reply

        # A workgroup made at runtime: one node takes it, and the two share again (4 and 3).
        await _add_workgroups(cluster, b, "late")
        held = await cluster.wait_shared("a", "b")
        assert sorted(len(slugs) for slugs in held.values()) == [3, 4]
        await cluster.owner("late")  # exactly one node holds it
        late = await _open_chat(a, "late", "Yan")
        _, message = await _first(alice.expect_type("offer"), bob.expect_type("offer"))
        assert message["offer"]["offer_id"] == f"{late}.1"

    # Every chat was offered once, by one node.
    for cid in [*cids, late]:
        assert [r["offer_id"] for r in await cluster.offers_of(cid)] == [f"{cid}.1"]


async def test_a_hung_or_killed_nodes_workgroups_move_within_the_takeover_time(
    cluster: Cluster,
) -> None:
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    await _add_workgroups(cluster, b, "north", "south", "east")
    held = await cluster.wait_shared("a", "b")
    everything = held["a"] | held["b"]

    def all_on_b(live: set[str], held: dict[str, set[str]], slugs: set[str]) -> bool:
        return live == {"b"} and held == {"b": slugs}

    loop = asyncio.get_running_loop()
    try:
        # Hung: A stops (SIGSTOP) with its connections open. PostgreSQL ends its silent lock
        # session (idle_session_timeout), and B takes A's workgroups.
        a.proc.send_signal(signal.SIGSTOP)
        hung_at = loop.time()
        await cluster.wait_locks("B running everything after A hung", all_on_b)
        waited = loop.time() - hung_at
        assert waited <= TAKEOVER_SECS + TAKEOVER_MARGIN_SECS, (waited, cluster.logs())

        # B dispatches what was A's.
        async with cluster.agent(b, "alice") as alice:
            cid = await _open_chat(b, min(held["a"]))
            offer = (await alice.expect_type("offer"))["offer"]
            assert offer["offer_id"] == f"{cid}.1"
            reply = await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
            assert reply["type"] == "ok", reply
    finally:
        a.proc.send_signal(signal.SIGCONT)

    # A wakes up, finds its session gone, joins again, and the two share again.
    held = await cluster.wait_shared("a", "b")
    assert held["a"] | held["b"] == everything

    # Killed: A's connection closes, PostgreSQL drops its locks at once, and B takes them.
    a.proc.kill()
    killed_at = loop.time()
    assert await a.wait_exit(STOP_TIMEOUT_SECS) == -signal.SIGKILL
    await cluster.wait_locks("B running everything after A was killed", all_on_b)
    waited = loop.time() - killed_at
    assert waited <= TAKEOVER_SECS + TAKEOVER_MARGIN_SECS, (waited, cluster.logs())
    async with cluster.agent(b, "bob") as bob:
        cid = await _open_chat(b, min(held["a"]), "Yan")
        offer = (await bob.expect_type("offer"))["offer"]
        assert offer["offer_id"] == f"{cid}.1"
