"""The transcript of an ended chat, emailed to its customer when they ask
(``domain.transcripts``).

Only the chat's own visitor asks (``access.require_transcript_requester``: anybody else reads
it as a conversation that does not exist, or is refused). The request is counted and committed
first (the limits hold on every node), then the mail is composed from the public messages only
(``parley.mail.compose_transcript``) and sent in the request; the row records the outcome. The
typed address is not stored anywhere else and links nothing.
"""

from __future__ import annotations

from parley.clock import Clock
from parley.domain import access
from parley.domain import transcripts as policy
from parley.domain.access import Principal
from parley.domain.conversation import Conversation, Role
from parley.domain.errors import Unavailable
from parley.mail import Mailer, MailError, TranscriptLine, compose_transcript
from parley.services.conversations import readable
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.transcripts import TranscriptStore
from parley.storage.workgroups import WorkgroupStore


class TranscriptService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        mailer: Mailer,
        *,
        sender: str,
        transcripts: TranscriptStore,
        workgroups: WorkgroupStore,
        conversations: ConversationStore,
    ) -> None:
        self._db = db
        self._clock = clock
        self._mailer = mailer
        self._sender = sender
        self._transcripts = transcripts
        self._workgroups = workgroups
        self._conversations = conversations

    async def email(self, principal: Principal, conversation_id: str, address: str) -> None:
        """Mail the chat's transcript to ``address``: ``Unavailable`` (reason ``mail``) when
        this server sends no mail or the mail server refused it."""
        address = policy.check_address(address)
        now = self._clock.now()
        async with self._db.write() as tx:
            conv = await readable(
                tx, self._workgroups, self._conversations, principal, conversation_id
            )
            access.require_transcript_requester(principal, conv)
            policy.require_ended(conv.status)
            if not self._mailer.enabled:
                raise Unavailable("transcripts by email are not available here", "mail")
            count, oldest = await self._transcripts.to_address_since(
                tx, address.casefold(), now - policy.ADDRESS_WINDOW
            )
            policy.check_limits(
                await self._transcripts.count_for_chat(tx, conv.id), count, oldest, now
            )
            row_id = await self._transcripts.insert(tx, conv.id, address.casefold(), now)
            entries = policy.public_messages(
                await self._conversations.entries_after(tx, conv.id, 0)
            )
            wg = (
                None
                if conv.workgroup_id is None
                else await self._workgroups.workgroup(tx, conv.workgroup_id)
            )
        names = _names(conv)
        try:
            mail = compose_transcript(
                to=address,
                sender=self._sender,
                workgroup_name="" if wg is None else wg.name,
                conversation_id=conv.id,
                started_at=conv.created_at,
                question=str(conv.metadata.get("question") or ""),
                lines=[
                    TranscriptLine(
                        names.get(e.author or "", "?"), e.created_at, str(e.body.get("text", ""))
                    )
                    for e in entries
                ],
                now=now,
            )
            await self._mailer.send(mail)
        except MailError as exc:
            async with self._db.write() as tx:
                await self._transcripts.record(tx, row_id, None, str(exc))
            raise Unavailable("the transcript could not be sent; try again later", "mail") from exc
        async with self._db.write() as tx:
            await self._transcripts.record(tx, row_id, self._clock.now(), None)


def _names(conv: Conversation) -> dict[str, str]:
    """Who wrote what, as the transcript names them: the customer is "You"."""
    names = {p.key: p.display_name for p in conv.participants}
    for p in conv.participants:
        if p.role is Role.VISITOR:
            names[p.key] = "You"
    return names
