"""The dispatcher's memory of each workgroup's queue between runs.

``RoutingService.run`` asks ``RequestStore.refresh`` for the workgroup's router with the queue
kept here, and keeps what it returns once its transaction committed. What is kept is only ever
what was read from the database at a known ``routing_revision``; the database stays the record,
and the change feed (``routing_changes``) brings a kept queue up to date. The rules that drop a
kept queue, so that the next run loads it whole:

- the node takes the workgroup (``forget``: the previous owner's changes are read fresh) or lets
  it go (``keep_only``: memory only for the workgroups this node dispatches);
- it was loaded whole more than ``full_reload`` ago (the safety net; ``0``: keep nothing);
- a run failed (its transaction rolled back: what it read is not trusted);
- and, inside ``refresh``: the workgroup's queues changed, the revision went back, or the feed
  has a gap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from parley.storage.requests import KeptQueue

#: The dispatcher prunes a workgroup's change feed once it is this many revisions past the last
#: prune: one DELETE now and then rather than one per run.
PRUNE_EVERY_REVISIONS = 256


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
        """Keep ``queue`` (after its transaction committed); ``whole``: it was loaded whole."""
        if self._full_reload <= timedelta(0):
            return
        kept = self._kept.get(workgroup_id)
        if kept is None or whole:
            pruned = 0 if kept is None else kept.pruned_to
            self._kept[workgroup_id] = _Kept(queue, now, pruned)
        else:
            kept.queue = queue

    def prune_upto(self, workgroup_id: int, queue: KeptQueue) -> int | None:
        """The revision to prune the feed up to with this run, if it is time to."""
        kept = self._kept.get(workgroup_id)
        done = 0 if kept is None else kept.pruned_to
        return queue.revision if queue.revision - done >= PRUNE_EVERY_REVISIONS else None

    def pruned(self, workgroup_id: int, upto: int) -> None:
        kept = self._kept.get(workgroup_id)
        if kept is not None:
            kept.pruned_to = upto

    def forget(self, workgroup_ids: Iterable[int]) -> None:
        for workgroup_id in workgroup_ids:
            self._kept.pop(workgroup_id, None)

    def keep_only(self, owns: Callable[[int], bool]) -> None:
        self.forget([w for w in self._kept if not owns(w)])

    def __len__(self) -> int:
        return len(self._kept)
