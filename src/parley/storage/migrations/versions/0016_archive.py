"""the archive: retention per kind, legal holds, the notice, full-text search, exports

Retention policies per kind of conversation, legal holds, the archive notice, background
exports, the compliance right on users, ``conversations.history_starts_at_seq`` (what the
retention job trimmed of a staff conversation), and a full-text index over the entries' text:
on SQLite an FTS5 table kept in step by triggers on ``entries`` (the group commit inserts
entries with raw SQL, so triggers are the one place every write path passes), on PostgreSQL a
generated ``tsvector`` column with a GIN index.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# A row is found again by ``key``, one token per entry (the conversation id in hex, "x", the
# seq), not by rowid: the rowid of ``entries`` (no INTEGER PRIMARY KEY) may change in a VACUUM,
# and a lookup by conversation id alone would read every row of the conversation.
_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE entries_fts USING fts5("
    "text, key, conversation_id UNINDEXED, seq UNINDEXED, "
    "tokenize = 'unicode61 remove_diacritics 2')",
    # Messages and notes carry text; the rest (joined, left, ...) are not searched.
    "CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries "
    "WHEN json_extract(new.body, '$.text') IS NOT NULL BEGIN "
    "INSERT INTO entries_fts (text, key, conversation_id, seq) "
    "VALUES (json_extract(new.body, '$.text'), new.conversation_id || 'x' || new.seq, "
    "new.conversation_id, new.seq); END",
    "CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries "
    "WHEN json_extract(old.body, '$.text') IS NOT NULL BEGIN "
    "DELETE FROM entries_fts WHERE entries_fts MATCH "
    "'key:' || old.conversation_id || 'x' || old.seq; END",
    "CREATE TRIGGER entries_fts_update AFTER UPDATE OF body ON entries BEGIN "
    "DELETE FROM entries_fts WHERE entries_fts MATCH "
    "'key:' || old.conversation_id || 'x' || old.seq; "
    "INSERT INTO entries_fts (text, key, conversation_id, seq) "
    "SELECT json_extract(new.body, '$.text'), new.conversation_id || 'x' || new.seq, "
    "new.conversation_id, new.seq WHERE json_extract(new.body, '$.text') IS NOT NULL; END",
    # What was written before this migration.
    "INSERT INTO entries_fts (text, key, conversation_id, seq) "
    "SELECT json_extract(body, '$.text'), conversation_id || 'x' || seq, conversation_id, seq "
    "FROM entries WHERE json_extract(body, '$.text') IS NOT NULL",
]

# Accents are folded (as FTS5's remove_diacritics does) by translate(), which, unlike the
# unaccent extension, is immutable and so allowed in a generated column; the search folds its
# words the same way (storage.archive.words_of). Keep the two lists in step.
ACCENTED = "àáâãäåāăąçćčďèéêëēėęěìíîïīįłñńňòóôõöøōőŕřśšşťùúûüūůűųýÿźżž"
PLAIN = "aaaaaaaaacccdeeeeeeeeiiiiiilnnnoooooooorrssstuuuuuuuuyyzzz"
assert len(ACCENTED) == len(PLAIN)

_POSTGRES_FTS = [
    "ALTER TABLE entries ADD COLUMN text_tsv tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, translate(lower(coalesce(body ->> 'text', '')), "
    f"'{ACCENTED}', '{PLAIN}'))) STORED",
    "CREATE INDEX ix_entries_text_tsv ON entries USING gin (text_tsv)",
]


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(
            sa.Column("history_starts_at_seq", sa.Integer(), nullable=False, server_default="1")
        )
        batch.create_index("ix_conversations_ended_at", ["ended_at"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("compliance", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "retention_policies",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("keep_days", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_retention_policies")),
    )
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("customer_sub", sa.String(length=255), nullable=True),
        sa.Column("customer_email", sa.String(length=254), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False, server_default=""),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_table(
        "archive_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_archive_settings")),
    )
    op.create_table(
        "archive_exports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("done", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("jsonl", sa.LargeBinary(), nullable=True),
        sa.Column("html_zip", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_exports")),
    )
    op.create_index("ix_archive_exports_created_by", "archive_exports", ["created_by"])
    statements = _POSTGRES_FTS if op.get_bind().dialect.name == "postgresql" else _SQLITE_FTS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_entries_text_tsv")
        op.execute("ALTER TABLE entries DROP COLUMN text_tsv")
    else:
        for name in ("entries_fts_insert", "entries_fts_delete", "entries_fts_update"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE entries_fts")
    op.drop_index("ix_archive_exports_created_by", table_name="archive_exports")
    op.drop_table("archive_exports")
    op.drop_table("archive_settings")
    op.drop_table("legal_holds")
    op.drop_table("retention_policies")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("compliance")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_ended_at")
        batch.drop_column("history_starts_at_seq")
