"""Each workgroup's queue as this node last read it, between transactions.

Every routing transaction (the dispatcher's ``RoutingService.run``, and ``accept``, ``decline``,
``claim``, ``enqueue_in``, ``transfer``, ``cancel_in``) asks ``RequestStore.refresh`` for the
workgroup's router with the queue kept here, under the workgroup's row lock, and keeps what it
read once its transaction committed (``Tx.on_commit``). What is kept is only ever what was read
from the database at a known ``routing_revision``; the database stays the record, and the
change feed (``routing_changes``) brings a kept queue up to date. It is a cache: any node may
keep any workgroup's queue (see architecture.md, "The kept queue and the change feed", for why
that is safe). The rules that drop a kept queue, so that the next use loads it whole:

- the node takes the workgroup's dispatcher (``forget``: a cheap extra safety net on takeover);
- it was loaded whole more than ``full_reload`` ago (the safety net; ``0``: keep nothing), and
  ``expire`` then drops it from memory;
- and, inside ``refresh``: the workgroup's queues changed, the revision went back, or the feed
  has a gap.

A transaction that rolls back keeps nothing, and leaves what was kept as it was: that copy was
read at a revision that committed, so it is still true at that revision (the feed brings it on).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from parley.storage.requests import KeptQueue

#: The dispatcher prunes a workgroup's change feed once it is this many revisions past the last
#: prune: one DELETE now and then rather than one per run.
PRUNE_EVERY_REVISIONS = 256
#: What a prune leaves of the feed: the last this many revisions, so that a node which serves a
#: workgroup now and then (an accept, a chat opened) but does not dispatch it catches up from
#: the feed rather than loading the queue whole after every prune.
FEED_TAIL_REVISIONS = 256


@dataclass(slots=True)
class _Kept:
    queue: KeptQueue
    loaded_whole_at: datetime
    pruned_to: int


class KeptQueues:
    def __init__(self, full_reload: timedelta) -> None:
        self._full_reload = full_reload
        self._kept: dict[int, _Kept] = {}

    def get(self, workgroup_id: int, now: datetime) -> KeptQueue | None:
        """The kept queue, unless it is due for a full load."""
        kept = self._kept.get(workgroup_id)
        if kept is None or now >= kept.loaded_whole_at + self._full_reload:
            return None
        return kept.queue

    def put(self, workgroup_id: int, queue: KeptQueue, now: datetime, *, whole: bool) -> None:
        """Keep ``queue`` (after its transaction committed); ``whole``: it was loaded whole.

        Two transactions of this node on one workgroup may keep in either order: an older queue
        caught up from the feed does not replace a newer one (either would be right, the newer
        one is cheaper next time). A whole load always does (it may follow a revision gone back)."""
        if self._full_reload <= timedelta(0):
            return
        kept = self._kept.get(workgroup_id)
        if kept is None or whole:
            pruned = 0 if kept is None else kept.pruned_to
            self._kept[workgroup_id] = _Kept(queue, now, pruned)
        elif queue.revision >= kept.queue.revision:
            kept.queue = queue

    def prune_upto(self, workgroup_id: int, queue: KeptQueue) -> int | None:
        """The revision to prune the feed up to with this run, if it is time to (the last
        ``FEED_TAIL_REVISIONS`` stay)."""
        kept = self._kept.get(workgroup_id)
        done = 0 if kept is None else kept.pruned_to
        upto = queue.revision - FEED_TAIL_REVISIONS
        return upto if upto - done >= PRUNE_EVERY_REVISIONS else None

    def pruned(self, workgroup_id: int, upto: int) -> None:
        kept = self._kept.get(workgroup_id)
        if kept is not None:
            kept.pruned_to = upto

    def forget(self, workgroup_ids: Iterable[int]) -> None:
        for workgroup_id in workgroup_ids:
            self._kept.pop(workgroup_id, None)

    def expire(self, now: datetime) -> None:
        """Drop what is due for a full load anyway (``get`` would not return it): memory only
        for the workgroups this node used in the last ``full_reload``."""
        due = [w for w, k in self._kept.items() if now >= k.loaded_whole_at + self._full_reload]
        self.forget(due)

    def __len__(self) -> int:
        return len(self._kept)
