"""The database handle: engines for SQLite (embedded default) and PostgreSQL, transactions,
and migrations run at start-up.

SQLite runs in WAL mode with ``synchronous=FULL`` so that a commit is on disk before anyone
is told a message was sent. Write transactions start with ``BEGIN IMMEDIATE``: SQLite then
serialises writers up front instead of failing one of them at its first write. On PostgreSQL,
services take row locks (``SELECT ... FOR UPDATE``) on the rows they change, and read
transactions run ``REPEATABLE READ`` so that each sees one snapshot, as on SQLite.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from parley.storage.tx import Tx

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The data directory and the database hold the visitor-token key, password hashes and every
# transcript: nobody but the account running Parley may read them.
DATA_DIR_MODE = 0o700
DATABASE_FILE_MODE = 0o600
_SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")
#: Every SQLite connection's settings (SQLAlchemy's and the group-commit writer's): a commit is
#: on disk before it returns.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)
#: PostgreSQL's isolation for ``Database.read``: one snapshot per transaction (the default,
#: READ COMMITTED, takes a new one per statement).
READ_ISOLATION = "REPEATABLE READ"
# Serialises migrations of several nodes starting at once on PostgreSQL (per schema).
_MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/migrate'))"


def normalise_url(url: str) -> str:
    """Accept the URLs operators write and pick the async driver Parley ships with."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'parley.db'}"


def secure_sqlite_files(database: Path, data_dir: Path | None = None) -> None:
    """Create the database's directory ``0700`` and the database file ``0600`` (SQLite then
    gives its ``-wal`` and ``-shm`` files the same mode). An existing ``data_dir`` or database
    file open to others is tightened, with a warning; any other existing directory (one named
    by a ``sqlite://`` URL) only gets the warning, as it may hold more than Parley's files."""
    if os.name != "posix":
        return
    directory = database.parent
    if not directory.exists():
        directory.mkdir(parents=True, mode=DATA_DIR_MODE, exist_ok=True)
        os.chmod(directory, DATA_DIR_MODE)  # mkdir's mode passes through the umask
    else:
        ours = data_dir is not None and directory.resolve() == data_dir.resolve()
        _tighten(directory, DATA_DIR_MODE, change=ours)
    with suppress(FileExistsError):
        os.close(os.open(database, os.O_CREAT | os.O_EXCL | os.O_WRONLY, DATABASE_FILE_MODE))
    for suffix in _SQLITE_SUFFIXES:
        path = database.with_name(database.name + suffix)
        if path.exists():
            _tighten(path, DATABASE_FILE_MODE, change=True)


def _tighten(path: Path, mode: int, *, change: bool) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if not current & 0o077:
        return
    if change:
        os.chmod(path, mode)
        log.warning("%s was open to other users (mode %o); it is now %o", path, current, mode)
    else:
        log.warning(
            "%s, which holds the database, is open to other users (mode %o); make it %o",
            path,
            current,
            mode,
        )


class Database:
    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        data_dir: Path | None = None,
        idle_transaction_timeout: timedelta | None = None,
    ) -> None:
        """``data_dir``: Parley's own data directory, tightened at start if it is the
        database's directory and open to others. ``idle_transaction_timeout`` (PostgreSQL):
        a session of this node left idle inside a transaction for that long (the node hung
        mid-transaction) is ended by PostgreSQL, and the row locks it held with it."""
        self.url = normalise_url(url)
        self._data_dir = data_dir
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if not self.is_sqlite:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self._write_lock: asyncio.Lock | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine)
            self._write_lock = asyncio.Lock()
        elif idle_transaction_timeout is not None:
            _configure_postgres(self.engine, idle_transaction_timeout)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """A read-write transaction; commits when the block exits without an exception.

        This and ``read`` are the one way of opening a transaction: the ``Tx`` they yield is
        what every store method takes first (``storage/tx.py``)."""
        if self._write_lock is None:
            async with self._write() as tx:
                yield tx
            return
        # SQLite has one writer at a time. Queueing writers here, in order, beats letting them
        # collide in SQLite's busy handler, whose back-off sleeps made the slowest writes take
        # seconds under load (bench/messages.py: p99 ack 2 s before, see docs/operations.md).
        async with self._write_lock, self._write() as tx:
            yield tx

    @property
    def sqlite_file(self) -> str | None:
        """The SQLite database file; None on PostgreSQL and for an in-memory database."""
        database = self.engine.url.database if self.is_sqlite else None
        return None if not database or database == ":memory:" else database

    @asynccontextmanager
    async def writer_turn(self) -> AsyncIterator[None]:
        """SQLite's one-writer turn for a writer outside SQLAlchemy (the group-commit writer,
        ``parley.storage.writer``): while it is held no ``write()`` transaction runs on this
        node. A no-op on PostgreSQL."""
        if self._write_lock is None:
            yield
            return
        async with self._write_lock:
            yield

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[Tx]:
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(parley_write=True)
            tx = Tx(conn, postgres=not self.is_sqlite)
            async with conn.begin():
                yield tx
            tx.committed()  # not reached when the block raised or the commit failed

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A read transaction that sees one snapshot of the database, whatever commits while
        it runs: on SQLite a transaction reads one snapshot anyway (WAL), on PostgreSQL it
        runs ``REPEATABLE READ`` (a read-only transaction there costs nothing more and never
        fails for it). So a conversation and its entries read in one ``read()`` always agree,
        even while the retention job trims them (``storage.archive.trim``)."""
        async with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = await conn.execution_options(isolation_level=READ_ISOLATION)
            async with conn.begin():
                yield Tx(conn, postgres=not self.is_sqlite)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def migrate(self) -> None:
        """Bring the schema to the newest revision (creating it, and for SQLite its directory
        and file with modes 0700 and 0600, on first start)."""
        if self.is_sqlite:
            database = self.engine.url.database
            if database and database != ":memory:":
                secure_sqlite_files(Path(database), self._data_dir)
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(parley_write=True)
            async with conn.begin():
                if not self.is_sqlite:
                    # Alembic imports its scripts between statements: not a hung node.
                    await conn.execute(sa.text("SET LOCAL idle_in_transaction_session_timeout = 0"))
                    await conn.execute(sa.text(_MIGRATION_LOCK))
                await conn.run_sync(_upgrade)

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(sync_conn: sa.Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, "head")


def _configure_postgres(engine: AsyncEngine, idle_transaction_timeout: timedelta) -> None:
    ms = max(1, round(idle_transaction_timeout.total_seconds() * 1000))

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(f"SET idle_in_transaction_session_timeout = {ms}")
        cursor.close()
        dbapi_conn.commit()  # a SET inside a transaction that is rolled back is undone


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("parley_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


__all__ = ["AsyncConnection", "Database", "normalise_url", "sqlite_url"]
