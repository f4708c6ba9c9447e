from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from tests.fakes import FakeClock
from tests.support import (
    REDIS_URL,
    World,
    check_redis,
    copy_migrated_sqlite,
    migrated_postgres_database,
    run_node,
    settings_for,
)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2 at minimal cost: the default takes ~0.25 s a hash on a busy 2-core machine."""
    monkeypatch.setattr(
        "parley.services.auth._hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


BACKENDS = ["sqlite", "postgres"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test that uses a node runs on the embedded default and on PostgreSQL + Redis.
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS)


async def make_world(backend: str, tmp_path: Path, **overrides: Any) -> AsyncIterator[World]:
    """A node of its own on a fresh database (a copy of one migrated once per test process,
    see ``tests.support``), on SQLite or on PostgreSQL + Redis (a fresh pub/sub channel)."""
    clock = FakeClock()
    if backend == "sqlite":
        settings = settings_for(tmp_path, **overrides)
        await copy_migrated_sqlite(settings)
        async with run_node(settings, clock) as node:
            yield World(node, clock, backend)
        return
    await check_redis()
    async with migrated_postgres_database() as url:
        settings = settings_for(
            tmp_path,
            database_url=url,
            redis_url=REDIS_URL,
            redis_channel="parley-test:" + secrets.token_hex(4),
            **overrides,
        )
        async with run_node(settings, clock) as node:
            yield World(node, clock, backend)


@pytest.fixture
async def world(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    """A node on SQLite or on PostgreSQL + Redis, with workgroup 'sales' and agents."""
    async for w in make_world(backend, tmp_path):
        await w.add_workgroup("sales", offer_timeout_secs=30, wait_timeout_secs=300, max_chats=2)
        yield w
