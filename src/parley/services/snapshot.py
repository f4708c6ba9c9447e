"""The ephemeral state a client is sent on (re)connect and after the bus lost messages:
presence, pending offers and invitations, and who is watching their chats for staff; the queue
position for a waiting visitor."""

from __future__ import annotations

from pydantic import BaseModel

from parley.domain.access import Principal, Visitor, can_see_directory
from parley.protocol import InvitationMessage, OfferMessage
from parley.services.invitations import InvitationService
from parley.services.presence import PresenceService
from parley.services.routing import RoutingService
from parley.services.supervision import SupervisionService
from parley.storage.db import Database


class Snapshots:
    def __init__(
        self,
        db: Database,
        presence: PresenceService,
        routing: RoutingService,
        invitations: InvitationService | None = None,
        supervision: SupervisionService | None = None,
    ) -> None:
        self._db = db
        self._presence = presence
        self._routing = routing
        self._invitations = invitations
        self._supervision = supervision

    async def ephemeral(self, principal: Principal) -> list[BaseModel]:
        if isinstance(principal, Visitor):
            status = await self._routing.queue_status(principal.conversation_id)
            return [] if status is None else [status]
        messages: list[BaseModel] = (
            list(await self._presence.snapshot()) if can_see_directory(principal) else []
        )
        messages += [OfferMessage(offer=o) for o in await self._routing.pending_offers(principal)]
        if self._invitations is not None:
            messages += [
                InvitationMessage(invitation=i) for i in await self._invitations.pending(principal)
            ]
        if self._supervision is not None:
            # Who is watching the chats this member is in (where the workgroup shows it).
            messages += await self._supervision.watching_snapshot(principal)
        return messages
