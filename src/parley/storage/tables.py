"""The schema. Alembic migrations in ``migrations/`` create it; keep both in step
(``tests/storage/test_migrations.py`` fails when they drift)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no time zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

server_keys = sa.Table(
    "server_keys",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    # What everyone else is shown (``domain.names.shown_name`` of ``name_as_entered`` in the
    # account policy's ``name_format``).
    sa.Column("display_name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # The directory: a job title (``domain.directory.MAX_TITLE_CHARS``).
    sa.Column("title", sa.String(80), nullable=False, server_default=""),
    # Since 0014: the account's email (staff: checked against staff_email_domains; guests: the
    # address they were invited at), and two-factor sign-in (TOTP).
    sa.Column("email", sa.String(254), nullable=True),
    # The TOTP secret in the clear (base32), as accounts enrolled before 0017 have it until
    # the next start seals it: always NULL after that (``totp_secret_sealed`` holds it).
    sa.Column("totp_secret", sa.String(64), nullable=True),
    # False while enrolment waits for its first code.
    sa.Column("totp_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    # The last time step a code was accepted for: a code works once.
    sa.Column("totp_last_step", sa.BigInteger, nullable=True),
    # The archive's compliance right (given by admins): reads every conversation through the
    # archive API, every read audited (parley.services.archive).
    sa.Column("compliance", sa.Boolean, nullable=False, server_default=sa.false()),
    # Since 0017: the name as entered (NULL: the same as ``display_name``, as every name was
    # before names had a format).
    sa.Column("name_as_entered", sa.String(128), nullable=True),
    # Since 0017: the TOTP secret sealed with the secrets key (``storage.sealing``: "fernet:"
    # and a Fernet token), written at enrolment, never returned after it.
    sa.Column("totp_secret_sealed", sa.String(255), nullable=True),
)

auth_tokens = sa.Table(
    "auth_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # session | api
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("label", sa.String(128), nullable=False, default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    # The token's name on the wire (list, revoke): random, neither the token nor its hash.
    sa.Column("public_id", sa.String(32), nullable=False, server_default=""),
    # Written at most once a minute per token (AuthService.TOUCH_INTERVAL).
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Index("ix_auth_tokens_user_id", "user_id"),
    sa.Index("uq_auth_tokens_public_id", "public_id", unique=True),
)

workgroups = sa.Table(
    "workgroups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("button_text", sa.String(128), nullable=False, default=""),
    sa.Column("offer_timeout_secs", sa.Integer, nullable=False),
    sa.Column("wait_timeout_secs", sa.Integer, nullable=False),
    sa.Column("max_chats", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # The pre-chat form's extra fields: [{"name", "label", "required"}].
    sa.Column("form_fields", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("decline_cooldown_secs", sa.Integer, nullable=False, server_default="20"),
    sa.Column("preferred_agent_secs", sa.Integer, nullable=False, server_default="10"),
    sa.Column("max_missed_offers", sa.Integer, nullable=False, server_default="3"),
    # Transfer and invitation policy: allowed transfer targets (agent, queue, workgroup),
    # transfers per chat at most, whether agents may invite others in.
    sa.Column(
        "transfer_targets",
        sa.JSON,
        nullable=False,
        server_default='["agent", "queue", "workgroup"]',
    ),
    sa.Column("max_transfers", sa.Integer, nullable=False, server_default="3"),
    sa.Column("invitations", sa.Boolean, nullable=False, server_default=sa.true()),
    # Verified customer identity: optional (anonymous chats accepted) or required.
    sa.Column("identity", sa.String(16), nullable=False, server_default="optional"),
    # One more for every transaction that changed the workgroup's waiting requests or their
    # offers (under the workgroup's row lock); ``routing_changes`` says which requests.
    sa.Column("routing_revision", sa.BigInteger, nullable=False, server_default="0"),
    # How long a chat whose customer left (every socket closed beyond the grace time) waits
    # for them to come back before it ends by itself; 0: never (migration 0023).
    sa.Column("customer_idle_secs", sa.Integer, nullable=False, server_default="300"),
)

# The change feed of each workgroup's waiting requests: the requests a transaction changed
# (inserted, updated, ended, moved away; their offers made or ended), at the workgroup revision
# it took. A node that keeps a workgroup's queue in memory reads the rows after the revision it
# has and re-reads those requests (``RequestStore.refresh``); the dispatcher prunes old rows.
routing_changes = sa.Table(
    "routing_changes",
    metadata,
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("revision", sa.BigInteger, primary_key=True),
    sa.Column("request_id", sa.String(32), primary_key=True),
)

# The keys a workgroup's company signs customer identity tokens with (HS256), by ``kid``:
# several at once, for rotation. The secret is shown once, when the key is created.
identity_keys = sa.Table(
    "identity_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kid", sa.String(64), nullable=False),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("workgroup_id", "kid"),
)

# A workgroup's queues; routing rules pick one per request, the default catches the rest.
queues = sa.Table(
    "queues",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False),
    sa.Column("strategy", sa.String(16), nullable=False, server_default="best"),
    # Skill name -> minimum level.
    sa.Column("skills", sa.JSON, nullable=False, server_default="{}"),
    sa.Column("overflow_action", sa.String(16), nullable=False, server_default="stay"),
    sa.Column("overflow_secs", sa.Integer, nullable=True),
    sa.Column("overflow_target", sa.Integer, nullable=True),
    sa.Column("max_length", sa.Integer, nullable=True),
    # Round robin: the agent this queue offered to last.
    sa.Column("last_offered", sa.Integer, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("workgroup_id", "name"),
)

routing_rules = sa.Table(
    "routing_rules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.String(128), nullable=False, server_default=""),
    sa.Column("condition", sa.JSON, nullable=False),
    sa.Column(
        "queue_id", sa.Integer, sa.ForeignKey("queues.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_routing_rules_workgroup_id", "workgroup_id"),
)

workgroup_members = sa.Table(
    "workgroup_members",
    metadata,
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Index("ix_workgroup_members_user_id", "user_id"),
)

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("workgroup_id", sa.Integer, sa.ForeignKey("workgroups.id"), nullable=True),
    sa.Column("last_seq", sa.Integer, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("end_reason", sa.String(32), nullable=True),
    # What the last agent recorded when ending it: resolved, escalated, follow_up.
    sa.Column("outcome", sa.String(16), nullable=True),
    # Who the customer is, as verified (a signed identity token): NULL for anonymous chats.
    # The pre-chat form's email and name stay in ``metadata``, as typed, and link nothing.
    sa.Column("customer_sub", sa.String(255), nullable=True),
    sa.Column("customer_email", sa.String(254), nullable=True),
    sa.Column("customer_name", sa.String(128), nullable=True),
    # The anonymous visitor id (the same browser) the chat was opened with.
    sa.Column("visitor_id", sa.String(64), nullable=True),
    # One more on every change of participants, status, workgroup or metadata (never on a
    # message): what a cached snapshot is checked against (parley.storage.writer).
    sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
    # The first seq still kept: the retention job trims staff conversations as a prefix
    # (parley.domain.retention); a cursor below it is answered ``history_removed``.
    sa.Column("history_starts_at_seq", sa.Integer, nullable=False, server_default="1"),
    # A secret shopper's chat (issue 11): scored on a checklist, counted in QA, kept out of
    # every customer metric (service level, waits, ratings, first-contact resolution).
    sa.Column("shopper", sa.Boolean, nullable=False, server_default=sa.false()),
    # Who recorded the outcome, and when (at wrap-up, even after the customer ended the chat).
    sa.Column("outcome_by", sa.Integer, nullable=True),
    sa.Column("outcome_at", UTCDateTime, nullable=True),
    sa.Index("ix_conversations_status", "status"),
    sa.Index("ix_conversations_ended_at", "ended_at"),
    sa.Index("ix_conversations_created_at", "created_at"),
    # A customer's history: by verified identity, else by the same browser.
    sa.Index("ix_conversations_customer_sub_created_at", "customer_sub", "created_at"),
    sa.Index("ix_conversations_visitor_id_created_at", "visitor_id", "created_at"),
)

participants = sa.Table(
    "participants",
    metadata,
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("display_name", sa.String(128), nullable=False),
    sa.Column("joined_at", UTCDateTime, nullable=False),
    sa.Column("left_at", UTCDateTime, nullable=True),
    sa.Index("ix_participants_user_id", "user_id"),
)

entries = sa.Table(
    "entries",
    metadata,
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("author", sa.String(64), nullable=True),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("client_id", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # The idempotency key of a send: one stored entry per (conversation, author, client id).
    sa.UniqueConstraint("conversation_id", "author", "client_id"),
)

chat_requests = sa.Table(
    "chat_requests",
    metadata,
    # Arrival order: the queue is first in, first out even for requests in the same instant.
    sa.Column("arrival", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    sa.Column("workgroup_id", sa.Integer, sa.ForeignKey("workgroups.id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # waiting accepted cancelled expired
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    # Agent id -> when they last declined or let time out an offer: {"7": "2026-...Z"}.
    sa.Column("declined_by", sa.JSON, nullable=False),
    sa.Column("offers_made", sa.Integer, nullable=False),
    sa.Column("agent_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    # No foreign key (see migration 0004); QueueService.delete_queue keeps it valid.
    sa.Column("queue_id", sa.Integer, nullable=True),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    # When it entered its current queue, its position there then, and how often it moved.
    sa.Column("entered_at", UTCDateTime, nullable=True),
    sa.Column("entry_position", sa.Integer, nullable=False, server_default="1"),
    sa.Column("moves", sa.Integer, nullable=False, server_default="0"),
    sa.Column("preferred_agent_id", sa.Integer, nullable=True),
    # A transfer in progress: who asked for it (still in the chat), to whom, and the note.
    sa.Column("transfer_from", sa.Integer, nullable=True),
    sa.Column("transfer_to_agent", sa.Integer, nullable=True),
    sa.Column("transfer_note", sa.String(1000), nullable=True),
    # The first wait, kept when the first transfer rewrites the row (migration 0025, reports):
    # where it waited, since and until when, who took it. NULL: never transferred.
    sa.Column("first_workgroup_id", sa.Integer, nullable=True),
    sa.Column("first_queue_id", sa.Integer, nullable=True),
    sa.Column("first_created_at", UTCDateTime, nullable=True),
    sa.Column("first_ended_at", UTCDateTime, nullable=True),
    sa.Column("first_agent_id", sa.Integer, nullable=True),
    sa.Index("ix_chat_requests_workgroup_id_status", "workgroup_id", "status"),
    sa.Index("ix_chat_requests_workgroup_id_ended_at", "workgroup_id", "ended_at"),
    sa.Index(
        "ix_chat_requests_first_workgroup_id_first_ended_at",
        "first_workgroup_id",
        "first_ended_at",
    ),
    sa.Index("ix_chat_requests_queue_id_status_ended_at", "queue_id", "status", "ended_at"),
)

offers = sa.Table(
    "offers",
    metadata,
    sa.Column("offer_id", sa.String(48), primary_key=True),
    sa.Column(
        "request_id",
        sa.String(32),
        sa.ForeignKey("chat_requests.conversation_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("workgroup_id", sa.Integer, sa.ForeignKey("workgroups.id"), nullable=False),
    sa.Column("agent_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    # pending accepted declined timed_out withdrawn
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("offered_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("broadcast", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("preferred", sa.Boolean, nullable=False, server_default=sa.false()),
    # The database itself refuses a second live offer for an agent, or for a request outside
    # a broadcast, whatever process or workgroup tries it.
    sa.Index(
        "uq_offers_pending_agent",
        "agent_id",
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    ),
    sa.Index(
        "uq_offers_pending_request",
        "request_id",
        unique=True,
        sqlite_where=sa.text("status = 'pending' AND NOT broadcast"),
        postgresql_where=sa.text("status = 'pending' AND NOT broadcast"),
    ),
    sa.Index("ix_offers_request_id", "request_id"),
    sa.Index("ix_offers_workgroup_id_ended_at", "workgroup_id", "ended_at"),
)

agent_state = sa.Table(
    "agent_state",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("presence", sa.String(16), nullable=False),
    sa.Column("status_text", sa.String(140), nullable=False),
    sa.Column("changed_at", UTCDateTime, nullable=False),
    sa.Column("disconnected_at", UTCDateTime, nullable=True),
    sa.Column("idle_since", UTCDateTime, nullable=False),
    # Routing: skill name -> level, a capacity overriding the workgroups' (None: theirs),
    # offers let time out in a row.
    sa.Column("skills", sa.JSON, nullable=False, server_default="{}"),
    sa.Column("max_chats", sa.Integer, nullable=True),
    sa.Column("missed_offers", sa.Integer, nullable=False, server_default="0"),
    # Away because every browser of the member went idle (``domain.presence.set_idle``).
    sa.Column("away_from_idle", sa.Boolean, nullable=False, server_default=sa.false()),
)

connections = sa.Table(
    "connections",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("node_id", sa.String(32), nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    # Refreshed by the node's heartbeat; a connection not seen for a while died with its node.
    sa.Column("seen_at", UTCDateTime, nullable=False),
    # The browser reported its user idle (the ``idle`` message); a new connection is active.
    sa.Column("idle", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_connections_user_id", "user_id"),
)

# Left messages and business hours (leave-a-message) --------------------------------------------

workgroup_hours = sa.Table(
    "workgroup_hours",
    metadata,
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("timezone", sa.String(64), nullable=False),
    # {"mon": ["09:00-12:00", "13:00-17:30"], ...}; NULL: open around the clock.
    sa.Column("weekly", sa.JSON, nullable=True),
    sa.Column("holidays", sa.JSON, nullable=False),  # ["2026-12-25", ...], in the zone above
    sa.Column("closed_by_hand", sa.Boolean, nullable=False),
    # Visitors wait in the queue even when no agent is available (else: leave a message).
    sa.Column("queue_without_agents", sa.Boolean, nullable=False),
    # Where left messages are emailed ("": nowhere, they only reach the console's inbox).
    sa.Column("email", sa.String(254), nullable=False),
)

left_messages = sa.Table(
    "left_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # What the API and the console call the message by: 128 random bits in hex, so that ids
    # cannot be guessed or counted (the integer key stays internal).
    sa.Column("public_id", sa.String(32), nullable=False),
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # Set when the message follows a chat that expired or could not start.
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("page", sa.String(2048), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # new taken done
    sa.Column("taken_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("taken_at", UTCDateTime, nullable=True),
    sa.Column("done_at", UTCDateTime, nullable=True),
    sa.Column("emailed_at", UTCDateTime, nullable=True),
    sa.Column("email_attempts", sa.Integer, nullable=False),
    sa.Column("last_email_error", sa.String(500), nullable=True),
    # When the next email attempt is due (also a lease: set ahead while one is under way);
    # NULL once sent, given up, or when there is nowhere to send it.
    sa.Column("next_email_at", UTCDateTime, nullable=True),
    sa.Index("ix_left_messages_workgroup_id_status", "workgroup_id", "status"),
    sa.Index("ix_left_messages_next_email_at", "next_email_at"),
    sa.Index("ix_left_messages_workgroup_id_created_at", "workgroup_id", "created_at"),
    sa.Index("uq_left_messages_public_id", "public_id", unique=True),
)


# Every transfer and invitation, and what became of it: for escalation and first-contact
# resolution reports.
routing_events = sa.Table(
    "routing_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # transfer_requested transfer_accepted transfer_failed transfer_cancelled
    # invited invite_accepted invite_declined invite_left
    # barged_in taken_over (a supervisor joined, or took the chat over)
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor_id", sa.Integer, nullable=True),
    sa.Column("agent_id", sa.Integer, nullable=True),
    sa.Column("from_workgroup_id", sa.Integer, nullable=True),
    sa.Column("to_workgroup_id", sa.Integer, nullable=True),
    sa.Column("to_queue_id", sa.Integer, nullable=True),
    sa.Column("note", sa.String(1000), nullable=True),
    sa.Index("ix_routing_events_conversation_id", "conversation_id"),
    sa.Index("ix_routing_events_from_workgroup_id_at", "from_workgroup_id", "at"),
)


# An agent's invitation of another staff member into a chat (``parley.domain.invitations``).
invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("from_user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("to_user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("note", sa.String(1000), nullable=False),
    # pending accepted declined timed_out cancelled
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    # At most one pending invitation per invitee and conversation, whoever tries a second.
    sa.Index(
        "uq_invitations_pending_invitee",
        "conversation_id",
        "to_user_id",
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    ),
    sa.Index("ix_invitations_to_user_id_status", "to_user_id", "status"),
    sa.Index("ix_invitations_status_expires_at", "status", "expires_at"),
)


# The staff IM (``parley.domain.im``): what a DM, a room or a back-channel has beyond the
# conversation itself, whose participants are its members and whose entries are its messages.
rooms = sa.Table(
    "rooms",
    metadata,
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(80), nullable=False, server_default=""),
    sa.Column("topic", sa.String(250), nullable=False, server_default=""),
    # open | private (DMs and back-channels are private).
    sa.Column("visibility", sa.String(16), nullable=False, server_default="private"),
    # A DM's members, sorted (``domain.im.direct_key``): one DM per set of members.
    sa.Column("direct_key", sa.String(120), nullable=True),
    # A back-channel's customer chat: one back-channel per chat.
    sa.Column(
        "customer_conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=True,
    ),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("uq_rooms_direct_key", "direct_key", unique=True),
    sa.Index("uq_rooms_customer_conversation_id", "customer_conversation_id", unique=True),
    sa.Index("ix_rooms_visibility", "visibility"),
)

# A member's read marker in a staff conversation: the last ``seq`` they have read.
read_markers = sa.Table(
    "read_markers",
    metadata,
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("last_read_seq", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_read_markers_user_id", "user_id"),
)

# House rules: blocked words (``domain.wordfilter``), one row per rule.
blocked_words = sa.Table(
    "blocked_words",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # term pattern
    sa.Column("value", sa.String(256), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # refuse mask warn notify
    sa.Column("scopes", sa.JSON, nullable=False),  # a list of scope names
    sa.Column("reason", sa.String(256), nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Who did what, when: blocked and masked messages, changes of house rules. Append-only.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    # "staff:<user id>" or "visitor:<conversation id>"
    sa.Column("actor", sa.String(128), nullable=False),
    # "blocked_word.refused", "blocked_word.masked", "blocked_word.notified",
    # "blocked_words.created", "blocked_words.updated", "blocked_words.deleted"
    sa.Column("action", sa.String(64), nullable=False),
    # The conversation, or the rule ("blocked_word:<id>")
    sa.Column("subject", sa.String(128), nullable=False, server_default=""),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Index("ix_audit_log_at", "at"),
    sa.Index("ix_audit_log_action_at", "action", "at"),
    sa.Index("ix_audit_log_actor_at", "actor", "at"),
)

# The directory: staff photos (re-encoded pixels only, ``parley.photos``) and buddy lists.
staff_photos = sa.Table(
    "staff_photos",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("media_type", sa.String(32), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    # A hash of ``data``: the ETag, and the version in the photo's URL.
    sa.Column("etag", sa.String(64), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# One member's favourites and named groups (``domain.directory.BuddyList``), as one document.
buddy_lists = sa.Table(
    "buddy_lists",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# The company's message templates (``domain.templates``): greetings and sign-offs.
message_templates = sa.Table(
    "message_templates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(80), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # greeting sign_off other
    sa.Column("tone", sa.String(16), nullable=False),  # professional personal
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Two-factor recovery codes: their SHA-256 only; each works once (the row is deleted).
recovery_codes = sa.Table(
    "recovery_codes",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_recovery_codes_user_id", "user_id"),
)

# The account policy an admin sets (domain.accounts.AccountPolicy), one row per setting.
account_policy = sa.Table(
    "account_policy",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)

# Guests invited by email into one room: the token's SHA-256 only.
guest_invitations = sa.Table(
    "guest_invitations",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("public_id", sa.String(32), nullable=False, unique=True),
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("invited_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    # The guest account made with it (an invitation works once).
    sa.Column("accepted_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Index("ix_guest_invitations_conversation_id", "conversation_id"),
)

# The archiving policy (parley.domain.retention): per kind of conversation, keep for
# ``keep_days``, or forever (NULL). A kind without a row is kept forever.
retention_policies = sa.Table(
    "retention_policies",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("keep_days", sa.Integer, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Legal holds: on one conversation, or on one customer (verified sub, or email as typed).
legal_holds = sa.Table(
    "legal_holds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(32), nullable=True),
    sa.Column("customer_sub", sa.String(255), nullable=True),
    sa.Column("customer_email", sa.String(254), nullable=True),
    sa.Column("reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_by", sa.Integer, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# Archive settings by name: "notice" (the line shown where people write).
archive_settings = sa.Table(
    "archive_settings",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Archive exports, run in the background; the result is kept in the database so that any
# node serves the download.
archive_exports = sa.Table(
    "archive_exports",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_by", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("query", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # running done failed
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("error", sa.String(500), nullable=True),
    sa.Column("jsonl", sa.LargeBinary, nullable=True),
    sa.Column("html_zip", sa.LargeBinary, nullable=True),
    # Since 0017: while running, the node running it and its last progress write; a running
    # export whose node stopped is marked failed (at that node's start, or once stale).
    sa.Column("node_id", sa.String(64), nullable=True),
    sa.Column("heartbeat_at", UTCDateTime, nullable=True),
    sa.Index("ix_archive_exports_created_by", "created_by"),
    # The retention job deletes finished exports by age.
    sa.Index("ix_archive_exports_finished_at", "finished_at"),
    sa.Index("ix_archive_exports_state", "state"),
)

# Supervisors (the live part: wallboard, monitoring) -----------------------------------------

# Who supervises which workgroup (an admin sets it): their wallboard, live chats, monitoring,
# whispers, barging in and taking over. Admins supervise every workgroup without a row.
workgroup_supervisors = sa.Table(
    "workgroup_supervisors",
    metadata,
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Index("ix_workgroup_supervisors_user_id", "user_id"),
)

# A workgroup's wallboard settings (``domain.wallboard.Settings``); no row: the defaults.
workgroup_supervision = sa.Table(
    "workgroup_supervision",
    metadata,
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("sl_target_secs", sa.Integer, nullable=False, server_default="45"),
    sa.Column("sl_goal_percent", sa.Integer, nullable=False, server_default="80"),
    sa.Column("alert_waiting", sa.Integer, nullable=True),
    sa.Column("alert_longest_wait_secs", sa.Integer, nullable=True),
    sa.Column("alert_asa_secs", sa.Integer, nullable=True),
    sa.Column("alert_abandoned", sa.Integer, nullable=True),
    sa.Column("stalled_secs", sa.Integer, nullable=False, server_default="120"),
    sa.Column("sound", sa.Boolean, nullable=False, server_default=sa.false()),
    # The chat's agents see who is watching it.
    sa.Column("show_monitoring", sa.Boolean, nullable=False, server_default=sa.false()),
    # The widget asks the customer to rate the chat when it ends.
    sa.Column("ratings", sa.Boolean, nullable=False, server_default=sa.true()),
    # First-contact resolution: resolved, and no new chat of the same customer within this.
    sa.Column("fcr_window_hours", sa.Integer, nullable=False, server_default="72"),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Who is watching which chat now (silent monitoring), per WebSocket: the row goes when the
# socket closes, and with its ``connections`` row when its node died.
monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "connection_id",
        sa.String(32),
        sa.ForeignKey("connections.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("connection_id", "conversation_id"),
    sa.Index("ix_monitors_conversation_id", "conversation_id"),
    sa.Index("ix_monitors_user_id", "user_id"),
)

# The agent's workspace (migration 0019): canned responses, each workgroup's automatic greeting,
# and the knowledge base. ``domain.canned``, ``domain.knowledge``.
canned_responses = sa.Table(
    "canned_responses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("scope", sa.String(16), nullable=False),  # workgroup personal
    # A shared response's workgroup, or a personal one's owner (the other is NULL).
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        nullable=True,
    ),
    sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    sa.Column("shortcut", sa.String(32), nullable=False),
    sa.Column("title", sa.String(80), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("category", sa.String(40), nullable=False, server_default=""),
    # Times an agent inserted it into a reply (or it greeted a customer).
    sa.Column("uses", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # NULLs are distinct: each unique index holds for the rows of its own scope.
    sa.UniqueConstraint("workgroup_id", "shortcut"),
    sa.UniqueConstraint("owner_id", "shortcut"),
)

# A workgroup's automatic greeting: a shared canned response of its own, sent on accept.
workgroup_greetings = sa.Table(
    "workgroup_greetings",
    metadata,
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "canned_id",
        sa.Integer,
        sa.ForeignKey("canned_responses.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Knowledge-base articles. The full-text index: SQLite's FTS5 table ``kb_fts`` (rowid = the
# article's id, kept in step by triggers), or PostgreSQL's generated ``kb_articles.search_tsv``
# with a GIN index (neither is in this metadata: migration 0019).
kb_articles = sa.Table(
    "kb_articles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("title", sa.String(200), nullable=False),
    # Markdown as written; the sanitized HTML and the plain text made from it when saved.
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("html", sa.Text, nullable=False),
    sa.Column("plain", sa.Text, nullable=False),
    sa.Column("category", sa.String(40), nullable=False, server_default=""),
    sa.Column("visibility", sa.String(16), nullable=False),  # internal public
    # Times a visitor said it answered their question.
    sa.Column("answered", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_kb_articles_workgroup_id", "workgroup_id"),
)

# A workgroup's branding of the widget (``domain.branding``): colour, greeting, corner, and its
# logo (re-encoded pixels only, ``parley.photos.reencode_logo``). No row: Parley's defaults.
workgroup_branding = sa.Table(
    "workgroup_branding",
    metadata,
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("color", sa.String(7), nullable=True),
    sa.Column("greeting", sa.String(300), nullable=False, server_default=""),
    sa.Column("position", sa.String(8), nullable=False, server_default="right"),
    sa.Column("logo_media_type", sa.String(32), nullable=True),
    sa.Column("logo_data", sa.LargeBinary, nullable=True),
    # A hash of ``logo_data``: the ETag, and the version in the logo's URL.
    sa.Column("logo_etag", sa.String(64), nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)


# After the fact (migration 0021, issue 11): ratings, tags, and time per presence state.

# The customer's rating of an ended chat (1 to 5, a comment), given to the last agent who wrote.
ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "agent_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("workgroup_id", sa.Integer, nullable=True),
    sa.Column("score", sa.SmallInteger, nullable=False),
    sa.Column("comment", sa.String(1000), nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_ratings_agent_id_created_at", "agent_id", "created_at"),
    sa.Index("ix_ratings_workgroup_id_created_at", "workgroup_id", "created_at"),
)

# The tags an admin keeps; agents put them on chats at wrap-up.
tags = sa.Table(
    "tags",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

conversation_tags = sa.Table(
    "conversation_tags",
    metadata,
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("tag_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("added_by", sa.Integer, nullable=True),
    sa.Column("added_at", UTCDateTime, nullable=False),
    sa.Index("ix_conversation_tags_tag_id", "tag_id"),
)

# Each stretch of time a staff member spent in one presence state (``ended_at`` NULL: now).
presence_periods = sa.Table(
    "presence_periods",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("presence", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Index("ix_presence_periods_user_id_started_at", "user_id", "started_at"),
    # At most one open period per member (migration 0025).
    sa.Index(
        "ix_presence_periods_open",
        "user_id",
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    ),
)


# Attachments (migration 0022, issue 12): a workgroup's policy, and each file sent in a chat.

# A workgroup's attachment policy (``domain.attachments.Policy``); no row: the defaults.
attachment_policies = sa.Table(
    "attachment_policies",
    metadata,
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("max_bytes", sa.Integer, nullable=False),
    # The allowed media types, space-separated (empty: none).
    sa.Column("allowed_types", sa.String(400), nullable=False, server_default=""),
    sa.Column("max_per_chat", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# A file sent in a chat: the entry (``seq``) that carries it, and where its bytes are
# (``sha256``: the content hash, the blob store's key; the thumbnail's, for an image).
attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("author", sa.String(64), nullable=False),
    # A private note's: staff only.
    sa.Column("private", sa.Boolean, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("media_type", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("thumb_sha256", sa.String(64), nullable=True),
    sa.Column("thumb_media_type", sa.String(32), nullable=True),
    sa.Column("width", sa.Integer, nullable=True),
    sa.Column("height", sa.Integer, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_attachments_conversation_id", "conversation_id"),
    sa.Index("ix_attachments_sha256", "sha256"),
)

# Customers (migration 0023, issue 12): profiles, staff notes, transcripts by email, and whether
# the customer is still there.

# One customer's profile (``domain.profiles``), keyed by the verified ``sub`` (``link_kind``
# ``sub``) or else the anonymous visitor id (``visitor``); never by a typed email.
customer_profiles = sa.Table(
    "customer_profiles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("link_kind", sa.String(8), nullable=False),
    sa.Column("link_value", sa.String(255), nullable=False),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("email", sa.String(254), nullable=False, server_default=""),
    sa.Column("company", sa.String(200), nullable=False, server_default=""),
    sa.Column("tags", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.Integer, nullable=True),
    sa.UniqueConstraint("link_kind", "link_value"),
)

# Staff-only notes about a customer, kept across their chats. No visitor path reads them.
customer_notes = sa.Table(
    "customer_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "profile_id",
        sa.Integer,
        sa.ForeignKey("customer_profiles.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "author_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_customer_notes_profile_id_created_at", "profile_id", "created_at"),
)

# Each transcript a customer asked to be emailed: the rate limits count these rows (per chat,
# per address), and the row records whether the mail went.
transcript_emails = sa.Table(
    "transcript_emails",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("address", sa.String(254), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.Column("error", sa.String(300), nullable=True),
    sa.Index("ix_transcript_emails_conversation_id", "conversation_id"),
    sa.Index("ix_transcript_emails_address_created_at", "address", "created_at"),
)

# The visitor's open sockets, with the node that holds them (as ``connections`` for staff).
visitor_connections = sa.Table(
    "visitor_connections",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("node_id", sa.String(32), nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("seen_at", UTCDateTime, nullable=False),
    sa.Index("ix_visitor_connections_conversation_id", "conversation_id"),
)

# Whether a chat's customer is there (``domain.visitor_presence``): ``gone_at`` when their last
# socket closed (the grace time starts), ``left_at`` when the grace ran out and the agents were
# told. Both NULL: there (or never connected). No row: never connected.
visitor_presence = sa.Table(
    "visitor_presence",
    metadata,
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("gone_at", UTCDateTime, nullable=True),
    sa.Column("left_at", UTCDateTime, nullable=True),
    sa.Index("ix_visitor_presence_gone_at", "gone_at"),
)

# QA review and secret shoppers (migration 0024, issue 11; ``domain.qa``).

# The scorecards an admin defines: supervisors fill a ``review`` one beside a transcript,
# secret shoppers a ``shopper`` checklist after their chat. ``categories``: a list of
# {key, name, weight, scale, critical}.
qa_scorecards = sa.Table(
    "qa_scorecards",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("purpose", sa.String(16), nullable=False),  # review shopper
    sa.Column("categories", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# A filled scorecard: a supervisor's review of a chat, or a secret shopper's score of their
# own. The scorecard as it was when filled (``card``: name and categories) is kept with it, so
# that editing a scorecard later changes no review.
qa_reviews = sa.Table(
    "qa_reviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("workgroup_id", sa.Integer, nullable=False),
    sa.Column(
        "agent_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    ),
    # NULL for a shopper's score.
    sa.Column(
        "reviewer_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("scorecard_id", sa.Integer, nullable=True),
    sa.Column("card", sa.JSON, nullable=False),
    sa.Column("scores", sa.JSON, nullable=False),
    sa.Column("comments", sa.JSON, nullable=False),
    sa.Column("comment", sa.String(2000), nullable=False, server_default=""),
    # 0 to 100, computed by ``domain.qa.score``.
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("critical_failed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("shopper", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_qa_reviews_conversation_id", "conversation_id"),
    sa.Index("ix_qa_reviews_agent_id_created_at", "agent_id", "created_at"),
    sa.Index("ix_qa_reviews_workgroup_id_created_at", "workgroup_id", "created_at"),
)

# Each category's score of a review, as filled (its name and scale then): what the QA report
# averages per category in SQL, without reading every review's JSON.
qa_review_scores = sa.Table(
    "qa_review_scores",
    metadata,
    sa.Column(
        "review_id",
        sa.Integer,
        sa.ForeignKey("qa_reviews.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("scale", sa.SmallInteger, nullable=False),
    sa.Column("score", sa.SmallInteger, nullable=False),
    # The review's, copied for the report's filters.
    sa.Column("workgroup_id", sa.Integer, nullable=False),
    sa.Column("agent_id", sa.Integer, nullable=True),
    sa.Column("shopper", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_qa_review_scores_workgroup_id_created_at", "workgroup_id", "created_at"),
)

# Secret-shopper links: signed (``server_keys`` "shopper_link_key"), one chat each, expiring.
shopper_links = sa.Table(
    "shopper_links",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("note", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    # When it opened its chat, and which (a second use is refused).
    sa.Column("used_at", UTCDateTime, nullable=True),
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("scored_at", UTCDateTime, nullable=True),
    sa.Index("ix_shopper_links_workgroup_id_created_at", "workgroup_id", "created_at"),
    sa.Index("ix_shopper_links_conversation_id", "conversation_id"),
)


# Co-browsing (``domain.cobrowse``): the sites (origins, ``normalize_site``) a workgroup's agents
# may push pages of, which open in a new tab; the customer's own site needs no row.
cobrowse_sites = sa.Table(
    "cobrowse_sites",
    metadata,
    sa.Column(
        "workgroup_id",
        sa.Integer,
        sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("origin", sa.String(300), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
)
