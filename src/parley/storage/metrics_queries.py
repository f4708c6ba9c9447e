"""What ``GET /metrics`` reads from the database at scrape time.

Cost: two statements per scrape, whatever the load. One reads the queues (a few rows per
workgroup); the other counts the waiting requests grouped by workgroup and queue. That count
reads each waiting request once through ``ix_chat_requests_workgroup_id_status`` (workgroup ids
and status both given), so it grows with the number waiting, not with the history of the
``chat_requests`` table. At Prometheus's usual 15-60 s interval that is negligible; scrape each
node, or only one (every node reports the same numbers).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from parley.storage.tables import chat_requests, queues, workgroups


async def waiting_per_queue(conn: AsyncConnection) -> dict[tuple[str, str], int]:
    """``(workgroup slug, queue name) -> requests waiting``, every queue included (0 when none
    waits). A request with no queue counts in its workgroup's default queue (as routing does)."""
    rows = (
        await conn.execute(
            sa.select(workgroups.c.id, workgroups.c.slug, queues.c.id, queues.c.name)
            .join(queues, queues.c.workgroup_id == workgroups.c.id)
            .order_by(workgroups.c.id, queues.c.is_default.desc(), queues.c.position, queues.c.id)
        )
    ).all()
    names: dict[int, tuple[str, str]] = {}
    default: dict[int, int] = {}
    for wg_id, slug, queue_id, name in rows:
        names[queue_id] = (slug, name)
        default.setdefault(wg_id, queue_id)  # the default queue first, else the first queue
    out = dict.fromkeys(names.values(), 0)
    if not default:
        return out
    counts = (
        await conn.execute(
            sa.select(chat_requests.c.workgroup_id, chat_requests.c.queue_id, sa.func.count())
            # Both columns of the index, so that neither database reads the ended requests.
            .where(
                chat_requests.c.workgroup_id.in_(list(default)),
                chat_requests.c.status == "waiting",
            )
            .group_by(chat_requests.c.workgroup_id, chat_requests.c.queue_id)
        )
    ).all()
    for wg_id, queue_id, n in counts:
        key = names.get(queue_id if queue_id is not None else default.get(wg_id, -1))
        if key is not None:
            out[key] += int(n)
    return out
