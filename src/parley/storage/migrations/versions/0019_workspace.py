"""the agent's workspace: canned responses, automatic greetings, the knowledge base

Canned responses (a workgroup's shared ones and each staff member's personal ones, with usage
counts), each workgroup's automatic greeting (one of its shared responses), and knowledge-base
articles with a full-text index: on SQLite an FTS5 table whose rowid is the article's id, kept
in step by triggers, with the Porter stemmer; on PostgreSQL a generated ``tsvector`` column (the
``english`` configuration: the same stemming, more or less) with a GIN index. The title weighs
more than the body in both (bm25's column weights, ts_rank's A and B).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE kb_fts USING fts5(title, body, "
    "tokenize = 'porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER kb_fts_insert AFTER INSERT ON kb_articles BEGIN "
    "INSERT INTO kb_fts (rowid, title, body) VALUES (new.id, new.title, new.plain); END",
    "CREATE TRIGGER kb_fts_delete AFTER DELETE ON kb_articles BEGIN "
    "DELETE FROM kb_fts WHERE rowid = old.id; END",
    "CREATE TRIGGER kb_fts_update AFTER UPDATE OF title, plain ON kb_articles BEGIN "
    "DELETE FROM kb_fts WHERE rowid = old.id; "
    "INSERT INTO kb_fts (rowid, title, body) VALUES (new.id, new.title, new.plain); END",
]

# Accents folded as in 0016 (translate() is immutable, so allowed in a generated column); the
# search folds its words the same way (domain.knowledge.fold). Keep the lists in step.
ACCENTED = "àáâãäåāăąçćčďèéêëēėęěìíîïīįłñńňòóôõöøōőŕřśšşťùúûüūůűųýÿźżž"
PLAIN = "aaaaaaaaacccdeeeeeeeeiiiiiilnnnoooooooorrssstuuuuuuuuyyzzz"
assert len(ACCENTED) == len(PLAIN)


def _folded(column: str) -> str:
    return f"translate(lower(coalesce({column}, '')), '{ACCENTED}', '{PLAIN}')"


_POSTGRES_FTS = [
    "ALTER TABLE kb_articles ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ("
    f"setweight(to_tsvector('english'::regconfig, {_folded('title')}), 'A') || "
    f"setweight(to_tsvector('english'::regconfig, {_folded('plain')}), 'B')) STORED",
    "CREATE INDEX ix_kb_articles_search_tsv ON kb_articles USING gin (search_tsv)",
]


def upgrade() -> None:
    op.create_table(
        "canned_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("workgroup_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("shortcut", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False, server_default=""),
        sa.Column("uses", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workgroup_id"],
            ["workgroups.id"],
            name=op.f("fk_canned_responses_workgroup_id_workgroups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_canned_responses_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
        sa.UniqueConstraint(
            "workgroup_id", "shortcut", name=op.f("uq_canned_responses_workgroup_id_shortcut")
        ),
        sa.UniqueConstraint(
            "owner_id", "shortcut", name=op.f("uq_canned_responses_owner_id_shortcut")
        ),
    )
    op.create_table(
        "workgroup_greetings",
        sa.Column("workgroup_id", sa.Integer(), nullable=False),
        sa.Column("canned_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workgroup_id"],
            ["workgroups.id"],
            name=op.f("fk_workgroup_greetings_workgroup_id_workgroups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["canned_id"],
            ["canned_responses.id"],
            name=op.f("fk_workgroup_greetings_canned_id_canned_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workgroup_id", name=op.f("pk_workgroup_greetings")),
    )
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workgroup_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("plain", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False, server_default=""),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workgroup_id"],
            ["workgroups.id"],
            name=op.f("fk_kb_articles_workgroup_id_workgroups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
    )
    op.create_index("ix_kb_articles_workgroup_id", "kb_articles", ["workgroup_id"])
    statements = _POSTGRES_FTS if op.get_bind().dialect.name == "postgresql" else _SQLITE_FTS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_kb_articles_search_tsv")
    else:
        for name in ("kb_fts_insert", "kb_fts_delete", "kb_fts_update"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE kb_fts")
    op.drop_index("ix_kb_articles_workgroup_id", table_name="kb_articles")
    op.drop_table("kb_articles")
    op.drop_table("workgroup_greetings")
    op.drop_table("canned_responses")
