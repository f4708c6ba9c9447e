"""The one gate every service passes to load a conversation for a principal.

``readable`` answers a conversation the principal may not read exactly like one that does not
exist (``access.require_read``: the same ``NotFound``). ``member_of`` loads the principal's
workgroups only when the answer depends on them (an agent who did not take part).
"""

from __future__ import annotations

from parley.domain import access
from parley.domain.access import Principal, Staff
from parley.domain.conversation import Conversation
from parley.storage.conversations import ConversationStore
from parley.storage.supervision import SupervisionStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupStore


async def member_of(
    tx: Tx, workgroups: WorkgroupStore, principal: Principal, conv: Conversation
) -> frozenset[int]:
    """The workgroups ``access.can_read`` needs for ``conv``: none unless they matter."""
    if access.needs_membership(principal, conv):
        assert isinstance(principal, Staff)
        return frozenset(await workgroups.readable_by(tx, principal.user_id))
    return frozenset()


async def readable(
    tx: Tx,
    workgroups: WorkgroupStore,
    conversations: ConversationStore,
    principal: Principal,
    conversation_id: str,
    *,
    lock: bool = False,
) -> Conversation:
    conv = await conversations.conversation(tx, conversation_id, lock=lock)
    if conv is None:
        return access.require_read(principal, None)  # raises, as for one not theirs
    return access.require_read(principal, conv, await member_of(tx, workgroups, principal, conv))


async def require_participant(
    tx: Tx,
    workgroups: WorkgroupStore,
    principal: Principal,
    conv: Conversation,
    supervision: SupervisionStore | None = None,
) -> None:
    """``access.require_participant`` with the principal's workgroups when they matter, and
    (given ``supervision``) whether a staff member who is not a participant is watching the
    chat (silent monitoring: refused as ``monitor_read_only``)."""
    monitoring = False
    if (
        supervision is not None
        and isinstance(principal, Staff)
        and not access.is_member(principal, conv)
    ):
        monitoring = await supervision.is_monitoring(tx, principal.user_id, conv.id)
    access.require_participant(
        principal, conv, await member_of(tx, workgroups, principal, conv), monitoring=monitoring
    )
