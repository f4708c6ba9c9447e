"""Helpers to run a Parley node in the test's event loop and talk to it over its public API."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import itertools
import json
import os
import secrets
import shutil
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import make_url
from tests.fakes import FakeClock
from websockets.asyncio.client import ClientConnection, connect

from parley.bootstrap import Parley, build
from parley.domain.access import StaffRole
from parley.services.admin import WorkgroupSettings
from parley.services.inbox import HoursSettings
from parley.settings import Settings
from parley.storage.db import Database, secure_sqlite_files, sqlite_url
from parley.web.app import create_app
from parley.web.server import config as server_config

PG_URL = os.environ.get("PARLEY_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PARLEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_PLAIN_PG_URL = PG_URL.replace("postgresql+psycopg://", "postgresql://")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
RECV_TIMEOUT_SECS = 10.0
PASSWORD = "correct horse battery"


def unavailable(what: str, exc: BaseException) -> None:
    """PostgreSQL and Redis tests must run in CI: fail there, skip elsewhere."""
    message = f"{what} is not reachable ({type(exc).__name__}: {exc})"
    if IN_CI:
        pytest.fail(message + "; CI must provide it")
    pytest.skip(message)


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A fresh schema on the test database; yields a URL whose search_path points at it."""

    schema = "t_" + secrets.token_hex(6)
    plain = _PLAIN_PG_URL
    conn = await _admin_connection()
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in plain else "?"
        yield f"{plain}{sep}options=-csearch_path%3D{schema}"
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


# Migrated databases to copy ----------------------------------------------------------------
#
# Running the migrations is most of a test node's start (about 0.3 s on SQLite, 1 s on
# PostgreSQL, on a busy 2-core machine). ``make_world`` gives every test a fresh database all
# the same, a copy of one migrated once per test process (per xdist worker): a copy of the
# file on SQLite, a database made from a template database on PostgreSQL. The node still runs
# ``migrate`` as it starts, finding the schema at head. Tests of migrations themselves, of file
# modes, and of nodes sharing a schema use ``postgres_schema`` or their own files.

_sqlite_template: Path | None = None
_postgres_template: str | None = None


async def copy_migrated_sqlite(settings: Settings) -> None:
    """Put a migrated database where ``settings`` keeps its SQLite file (which must not exist
    yet), with the modes Parley gives a new one (directory 0700, file 0600)."""
    global _sqlite_template
    if _sqlite_template is None:
        directory = Path(tempfile.mkdtemp(prefix="parley-template-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        db = Database(sqlite_url(directory))
        try:
            await db.migrate()
        finally:
            await db.dispose()
        _sqlite_template = directory / "parley.db"
    database = make_url(settings.resolved_database_url()).database
    assert database is not None
    _copy_sqlite(_sqlite_template, Path(database), settings.data_dir)


def _copy_sqlite(template: Path, target: Path, data_dir: Path) -> None:
    # The last connection's close checkpointed the WAL: the file is the whole database.
    assert not template.with_name(template.name + "-wal").exists()
    assert not target.exists(), target
    secure_sqlite_files(target, data_dir)  # the directory, and an empty file of mode 0600
    shutil.copyfile(template, target)  # keeps the target's mode


async def _admin_connection() -> Any:
    import psycopg

    try:
        return await psycopg.AsyncConnection.connect(_PLAIN_PG_URL, autocommit=True)
    except Exception as exc:
        unavailable("PostgreSQL", exc)
        raise


def _database_url(name: str) -> str:
    return make_url(_PLAIN_PG_URL).set(database=name).render_as_string(hide_password=False)


@asynccontextmanager
async def migrated_postgres_database() -> AsyncIterator[str]:
    """A fresh database of its own, made from a migrated template database (one per test
    process); yields its URL and drops it afterwards."""
    global _postgres_template
    conn = await _admin_connection()
    try:
        if _postgres_template is None:
            template = "parley_template_" + secrets.token_hex(6)
            await conn.execute(f'CREATE DATABASE "{template}"')
            atexit.register(_drop_database, template)
            db = Database(_database_url(template))
            try:
                await db.migrate()
            finally:
                await db.dispose()  # a template must have no connections to be copied
            _postgres_template = template
        name = "t_" + secrets.token_hex(6)
        # WAL_LOG (PostgreSQL 15's default) copies the template through the WAL, without the
        # two checkpoints of FILE_COPY.
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_postgres_template}"')
        try:
            yield _database_url(name)
        finally:
            # FORCE: a connection a failed test left open does not keep the database.
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _drop_database(name: str) -> None:
    import psycopg

    with contextlib.suppress(Exception), psycopg.connect(_PLAIN_PG_URL, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def check_redis() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        unavailable("Redis", exc)
    finally:
        await client.aclose()


@dataclass
class Node:
    parley: Parley
    server: uvicorn.Server
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def http(self, **kwargs: Any) -> httpx.AsyncClient:
        return http_client(self.base_url, **kwargs)


def http_client(base_url: str, **kwargs: Any) -> httpx.AsyncClient:
    """An HTTP client of a test node. Each ``httpx`` client otherwise builds its own TLS context
    (``load_verify_locations`` of every CA certificate, about 0.1 s on a busy machine) though
    the nodes speak plain HTTP: they share one, made as ``httpx`` makes it."""
    return httpx.AsyncClient(
        base_url=base_url, timeout=RECV_TIMEOUT_SECS, verify=_tls_context(), **kwargs
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


@asynccontextmanager
async def run_node(
    settings: Settings,
    clock: FakeClock | None,
    *,
    demo: bool = False,
    on_started: Callable[[Parley], Awaitable[None]] | None = None,
) -> AsyncIterator[Node]:
    """Start a node on a random port in this event loop; stop it (gracefully) afterwards.
    ``demo`` and ``on_started`` are passed to ``create_app``."""
    parley = build(settings, clock=clock)
    app = create_app(parley, demo=demo, on_started=on_started)
    # The configuration of `parley serve` (header limits, no proxy headers at the server).
    config = server_config(
        app,
        settings,
        parley.metrics,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        ws_ping_interval=None,
    )
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup()
    if server.should_exit:
        raise RuntimeError("the test server did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Node(parley, server, port)
    finally:
        for s in server.servers:
            s.close()
        from parley.web.app import drain

        await drain(parley)
        await server.shutdown()


@dataclass
class World:
    """A running node plus a fake clock and ready-made accounts."""

    node: Node
    clock: FakeClock
    backend: str
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    @property
    def parley(self) -> Parley:
        return self.node.parley

    async def add_staff(
        self,
        username: str,
        role: StaffRole = StaffRole.AGENT,
        workgroups: list[str] | None = None,
        *,
        supervises: list[str] | None = None,
    ) -> str:
        """A staff member, logged in. ``supervises``: workgroups a supervisor supervises (whose
        customer chats they read, ``access.can_read``)."""
        user = await self.parley.admin.create_user(
            None, username, PASSWORD, role, username.capitalize(), workgroups or []
        )
        if supervises:
            stores = self.parley.stores
            async with self.parley.db.write() as tx:
                for slug in supervises:
                    wg = await stores.workgroups.workgroup_by_slug(tx, slug)
                    assert wg is not None, slug
                    have = await stores.supervision.supervisors(tx, wg.id)
                    await stores.supervision.set_supervisors(tx, wg.id, [*have, user.id])
        async with self.node.http() as http:
            r = await http.post(
                "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            token = r.cookies["parley_session"]
        self.tokens[username] = token
        self.user_ids[username] = user.id
        return token

    async def add_workgroup(
        self, slug: str, *, queue_without_agents: bool = True, **settings: Any
    ) -> None:
        await self.parley.admin.create_workgroup(
            None, slug, WorkgroupSettings(name=slug.capitalize(), **settings)
        )
        if queue_without_agents:
            # Most tests open a chat before any agent is there and let it queue; by default a
            # workgroup with nobody available asks the visitor to leave a message instead.
            await self.parley.inbox.set_hours(
                None, slug, HoursSettings(None, queue_without_agents=True)
            )

    def staff_http(self, username: str) -> httpx.AsyncClient:
        return self.node.http(headers={"Authorization": f"Bearer {self.tokens[username]}"})

    async def open_chat(
        self, slug: str = "sales", name: str = "Zoe", **form: Any
    ) -> dict[str, Any]:
        async with self.node.http() as http:
            r = await http.post(f"/api/v1/workgroups/{slug}/chats", json={"name": name, **form})
            assert r.status_code == 201, r.text
            return dict(r.json())

    @asynccontextmanager
    async def agent(
        self, username: str, *, available: bool = True, cursors: dict[str, int] | None = None
    ) -> AsyncIterator[WsClient]:
        async with WsClient.connect(self.node.ws_url) as ws:
            await ws.hello(token=self.tokens[username], cursors=cursors or {})
            if available:
                await ws.request({"type": "set_presence", "presence": "available"})
            yield ws

    @asynccontextmanager
    async def visitor(
        self, token: str, cursors: dict[str, int] | None = None
    ) -> AsyncIterator[WsClient]:
        async with WsClient.connect(self.node.ws_url) as ws:
            await ws.hello(visitor_token=token, cursors=cursors or {})
            yield ws


_refs = itertools.count(1)


class WsClient:
    """A test client of the WebSocket protocol that remembers everything it received."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []
        self._pending: list[dict[str, Any]] = []

    @classmethod
    @asynccontextmanager
    async def connect(cls, url: str, **kwargs: Any) -> AsyncIterator[WsClient]:
        async with connect(url, open_timeout=RECV_TIMEOUT_SECS, **kwargs) as ws:
            yield cls(ws)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self) -> dict[str, Any]:
        if self._pending:
            return self._pending.pop(0)
        raw = await asyncio.wait_for(self.ws.recv(), RECV_TIMEOUT_SECS)
        message = json.loads(raw)
        self.received.append(message)
        return dict(message)

    async def expect(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first message that matches; the others are kept for later ``expect`` calls."""
        skipped: list[dict[str, Any]] = []
        try:
            while True:
                message = await self.recv()
                if predicate(message):
                    return message
                skipped.append(message)
        finally:
            self._pending[:0] = skipped

    async def expect_type(self, kind: str, **fields: Any) -> dict[str, Any]:
        return await self.expect(
            lambda m: m.get("type") == kind and all(m.get(k) == v for k, v in fields.items())
        )

    async def hello(self, **fields: Any) -> dict[str, Any]:
        await self.send({"type": "hello", **fields})
        welcome = await self.expect_type("welcome")
        await self.expect_type("synced")
        return welcome

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send with a fresh ref; return the reply (ok, ack, pong or error) with that ref."""
        ref = f"r{next(_refs)}"
        await self.send({**message, "ref": ref})
        return await self.expect(lambda m: m.get("ref") == ref)

    def drain_pending(self) -> list[dict[str, Any]]:
        pending, self._pending = self._pending, []
        return pending

    def entries(self, conversation_id: str) -> list[dict[str, Any]]:
        """Entries received for a conversation, in arrival order: each ``entry``, and the
        entry inside each ``ack`` (how the sender receives its own message), except an ack's
        entry already received (the answer to a retry)."""
        out: list[dict[str, Any]] = []
        seen: set[int] = set()
        for m in self.received:
            if m.get("conversation_id") != conversation_id:
                continue
            kind = m.get("type")
            if kind == "entry" or (kind == "ack" and m["entry"]["seq"] not in seen):
                out.append(m["entry"])
                seen.add(m["entry"]["seq"])
        return out


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", **overrides)
