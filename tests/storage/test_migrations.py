"""Alembic migrations and the table definitions describe the same schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from tests.support import postgres_schema

from parley.storage.db import Database, alembic_config
from parley.storage.stores import Stores
from parley.storage.tables import metadata

stores = Stores.create()


async def test_migrations_match_tables(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    await db.migrate()
    await db.migrate()  # a second start finds nothing to do

    def include_name(name: str | None, type_: str, parent_names: object) -> bool:
        # The full-text index (FTS5 and its shadow tables, migration 0016) is not a table of
        # ``metadata``: it is kept in step by triggers.
        return not (type_ == "table" and (name or "").startswith(("entries_fts", "kb_fts")))

    def diff(conn: sa.Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        return list(compare_metadata(context, metadata))

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    await db.dispose()


async def test_queues_migration_keeps_waiting_requests(backend: str, tmp_path: Path) -> None:
    """0004 gives every workgroup a default queue, puts its requests in it, and turns the old
    list of decliners into {agent: when}; 0005 and later apply on top."""
    async with _database(backend, tmp_path) as db:
        async with db.engine.connect() as conn:
            conn = await conn.execution_options(parley_write=True)
            async with conn.begin():
                await conn.run_sync(lambda c: _to(c, "0002"))
                now = datetime(2026, 11, 30, 12, tzinfo=UTC)
                await conn.execute(
                    sa.text(
                        "INSERT INTO users (id, username, display_name, role, password_hash,"
                        " active, created_at) VALUES (7, 'al', 'Al', 'agent', 'x', true, :t)"
                    ),
                    {"t": now},
                )
                await conn.execute(
                    sa.text(
                        "INSERT INTO workgroups (id, slug, name, button_text, offer_timeout_secs,"
                        " wait_timeout_secs, max_chats, created_at) VALUES"
                        " (1, 'sales', 'Sales', '', 30, 300, 3, :t)"
                    ),
                    {"t": now},
                )
                await conn.execute(
                    sa.text(
                        "INSERT INTO conversations (id, kind, status, workgroup_id, last_seq,"
                        " metadata, created_at) VALUES ('c1', 'customer_chat', 'queued', 1, 1,"
                        " '{}', :t)"
                    ),
                    {"t": now},
                )
                await conn.execute(
                    sa.text(
                        "INSERT INTO chat_requests (conversation_id, workgroup_id, status,"
                        " created_at, declined_by, offers_made) VALUES"
                        " ('c1', 1, 'waiting', :t, '[7]', 1)"
                    ),
                    {"t": now},
                )
        await db.migrate()
        async with db.read() as tx:
            wg = await stores.workgroups.workgroup(tx, 1)
            assert wg is not None
            queues = await stores.workgroups.queues(tx, 1)
            assert [(q.name, q.is_default) for q in queues] == [("default", True)]
            router = await stores.requests.load_router(tx, wg)
        (request,) = router.requests
        assert request.queue_id == queues[0].id
        assert request.declined == {7: request.created_at}
        assert request.since == request.created_at


def _to(sync_conn: sa.Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)


@asynccontextmanager
async def _database(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'old.db'}")
        try:
            yield db
        finally:
            await db.dispose()
        return
    async with postgres_schema() as url:
        db = Database(url)
        try:
            yield db
        finally:
            await db.dispose()


async def test_left_message_ids_migration_gives_existing_messages_public_ids(
    backend: str, tmp_path: Path
) -> None:
    """0009 gives every stored left message its own random public id, unique."""
    async with _database(backend, tmp_path) as db:
        async with db.engine.connect() as conn:
            conn = await conn.execution_options(parley_write=True)
            async with conn.begin():
                await conn.run_sync(lambda c: _to(c, "0006"))
                now = datetime(2026, 11, 30, 12, tzinfo=UTC)
                await conn.execute(
                    sa.text(
                        "INSERT INTO workgroups (id, slug, name, button_text, offer_timeout_secs,"
                        " wait_timeout_secs, max_chats, created_at) VALUES"
                        " (1, 'sales', 'Sales', '', 30, 300, 3, :t)"
                    ),
                    {"t": now},
                )
                for message_id in (1, 2, 3):
                    await conn.execute(
                        sa.text(
                            "INSERT INTO left_messages (id, workgroup_id, name, email, message,"
                            " page, created_at, status, email_attempts) VALUES"
                            " (:id, 1, 'Zoe', 'zoe@example.com', 'hi', '', :t, 'new', 0)"
                        ),
                        {"id": message_id, "t": now},
                    )
        await db.migrate()
        async with db.read() as tx:
            rows = [await stores.inbox.left_message(tx, i) for i in (1, 2, 3)]
            public = [r.message.public_id for r in rows if r is not None]
            assert len(set(public)) == 3
            assert all(len(p) == 32 and int(p, 16) >= 0 for p in public)
            found = await stores.inbox.left_message_by_public_id(tx, public[1])
            assert found is not None and found.message.id == 2
