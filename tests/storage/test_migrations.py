"""Alembic migrations and the table definitions describe the same schema."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from parley.storage.db import Database
from parley.storage.tables import metadata


async def test_migrations_match_tables(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    await db.migrate()
    await db.migrate()  # a second start finds nothing to do

    def diff(conn: sa.Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    await db.dispose()
