"""Alembic environment. Parley runs migrations itself at start-up (``Database.migrate``), on
the connection it passes in ``config.attributes["connection"]``."""

from __future__ import annotations

from alembic import context

from parley.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only the programmatic path is supported
    raise RuntimeError("run migrations through `parley migrate` or the server's start-up")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
