"""Invitations of a helper into a conversation.

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from parley.domain.conversation import (
    Status,
)
from parley.domain.invitations import Invitation
from parley.domain.invitations import Status as InvitationStatus
from parley.storage.tables import (
    conversations,
    invitations,
)
from parley.storage.tx import Tx, lookupable


def _invitation(row: sa.Row[Any]) -> Invitation:
    return Invitation(
        row.id,
        row.conversation_id,
        row.from_user_id,
        row.to_user_id,
        row.note,
        row.created_at,
        row.expires_at,
        InvitationStatus(row.status),
        row.ended_at,
    )


class InvitationStore:
    __slots__ = ()

    async def insert_invitation(self, tx: Tx, invitation: Invitation) -> None:
        await tx.conn.execute(
            sa.insert(invitations).values(
                id=invitation.invitation_id,
                conversation_id=invitation.conversation_id,
                from_user_id=invitation.from_agent,
                to_user_id=invitation.to_user,
                note=invitation.note,
                status=invitation.status.value,
                created_at=invitation.created_at,
                expires_at=invitation.expires_at,
                ended_at=invitation.ended_at,
            )
        )

    async def invitation(self, tx: Tx, invitation_id: str) -> Invitation | None:
        if not lookupable(invitation_id):
            return None
        row = await tx.one(sa.select(invitations).where(invitations.c.id == invitation_id))
        return None if row is None else _invitation(row)

    async def end_invitation(self, tx: Tx, invitation: Invitation) -> bool:
        """Save how a pending invitation ended. False when it was not pending any more
        (another node timed it out, or its invitee answered, first): nothing is written."""
        result = await tx.conn.execute(
            sa.update(invitations)
            .where(
                invitations.c.id == invitation.invitation_id,
                invitations.c.status == InvitationStatus.PENDING.value,
            )
            .values(status=invitation.status.value, ended_at=invitation.ended_at)
        )
        return bool(result.rowcount)

    async def pending_invitations(
        self, tx: Tx, *, conversation_id: str | None = None, user_id: int | None = None
    ) -> list[Invitation]:
        """Pending invitations into a conversation, or sent to or by a user."""
        stmt = sa.select(invitations).where(invitations.c.status == InvitationStatus.PENDING.value)
        if conversation_id is not None:
            stmt = stmt.where(invitations.c.conversation_id == conversation_id)
        if user_id is not None:
            stmt = stmt.where(
                sa.or_(invitations.c.to_user_id == user_id, invitations.c.from_user_id == user_id)
            )
        rows = await tx.all(stmt.order_by(invitations.c.created_at, invitations.c.id))
        return [_invitation(r) for r in rows]

    async def invitations_to_review(self, tx: Tx, now: datetime) -> list[Invitation]:
        """Pending invitations that are due, or whose chat has ended: the sweep ends them."""
        ended = sa.select(conversations.c.id).where(conversations.c.status == Status.ENDED.value)
        rows = await tx.all(
            sa.select(invitations)
            .where(
                invitations.c.status == InvitationStatus.PENDING.value,
                sa.or_(
                    invitations.c.expires_at <= now,
                    invitations.c.conversation_id.in_(ended),
                ),
            )
            .order_by(invitations.c.expires_at)
        )
        return [_invitation(r) for r in rows]

    async def next_invitation_expiry(self, tx: Tx) -> datetime | None:
        row = await tx.one(
            sa.select(sa.func.min(invitations.c.expires_at)).where(
                invitations.c.status == InvitationStatus.PENDING.value
            )
        )
        return None if row is None else row[0]
