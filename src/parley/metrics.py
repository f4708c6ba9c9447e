"""The node's Prometheus metrics (``GET /metrics``, see ``docs/operations.md``, "Metrics").

``Metrics`` owns its own ``CollectorRegistry``: nothing is recorded in prometheus-client's global
default registry, so that two nodes in one process (tests) count apart. ``bootstrap.build``
makes one per node and hands it to whatever records into it; those parts call the small typed
methods below and never touch prometheus-client themselves.

The hot paths (a commit, a delivery) add to plain integers and lists, read by a collector at
scrape time: prometheus-client's own ``Counter.inc`` and ``Histogram.observe`` take a lock and
cost several microseconds each, a noticeable share of a message's CPU budget. So every method
is meant to be called from the event loop's thread (one writer per value: no locks). A writer
thread reports through the loop (``loop.call_soon_threadsafe``) or after its waiters resume.

Queue lengths are not pushed by anyone: the endpoint reads them from the database at scrape
time (``storage.metrics_queries.waiting_per_queue``) and sets them just before rendering.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from parley import __version__
from parley.clock import Clock, SystemClock
from parley.domain import routing

ConnectionKind = Literal["visitor", "staff"]
CONNECTION_KINDS: tuple[ConnectionKind, ...] = ("visitor", "staff")

#: What a dispatcher decided. ``run``: one run of one workgroup's routing; ``offer``: an offer
#: made; ``offer_timed_out``: an offer nobody answered in time; ``request_expired``: a request
#: that waited longer than the workgroup allows; ``request_moved``: overflow to another queue;
#: ``agent_away``: an agent set away after too many missed offers; ``failed``: a run that raised.
DispatchOutcome = Literal[
    "run", "offer", "offer_timed_out", "request_expired", "request_moved", "agent_away", "failed"
]

#: The text format Prometheus scrapes (0.0.4: what every Prometheus version reads).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

BATCH_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0)
#: Seconds: from 0.25 ms (a batch on a fast disk) to 2.5 s (something is badly wrong).
LATENCY_BUCKETS = (
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)


class _Histogram:
    """Counts per bucket and a sum; cumulated (as Prometheus wants) only when scraped."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        # Bucket i counts values <= bounds[i]: the first bound not below the value.
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        buckets: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            buckets.append((floatToGoString(bound), running))  # type: ignore[no-untyped-call]
        return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=self.total)


class Metrics:
    """Every metric of one node, in one registry of its own."""

    def __init__(self, clock: Clock | None = None, *, node_id: str = "") -> None:
        self._clock = clock or SystemClock()
        self._node_id = node_id
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self._open: Counter[str] = Counter(dict.fromkeys(CONNECTION_KINDS, 0))
        self._opened: Counter[str] = Counter(dict.fromkeys(CONNECTION_KINDS, 0))
        self._messages = 0
        self._batch_size = _Histogram(BATCH_BUCKETS)
        self._commit_seconds = _Histogram(LATENCY_BUCKETS)
        self._delivery_seconds = _Histogram(LATENCY_BUCKETS)
        self._dispatch: Counter[str] = Counter()
        self._routing_loads: Counter[str] = Counter()
        self._waiting: dict[tuple[str, str], int] = {}
        self._limits: Counter[str] = Counter()
        self.registry.register(self)

    # Connections ------------------------------------------------------------------------------

    def connection_opened(self, kind: ConnectionKind) -> None:
        """An authenticated WebSocket (it said ``hello``) of a visitor or of staff is open."""
        self._open[kind] += 1
        self._opened[kind] += 1

    def connection_closed(self, kind: ConnectionKind) -> None:
        self._open[kind] -= 1

    # The write path ---------------------------------------------------------------------------

    def messages_committed(self, n: int = 1) -> None:
        """``n`` messages are committed (not counted: a repeated ``client_id`` answered with the
        original, an item refused by validation)."""
        self._messages += max(n, 0)

    def batch_committed(self, size: int, seconds: float) -> None:
        """One write transaction of ``size`` items committed, ``seconds`` after it started
        (waiting for the writer included). Does not count messages: call
        ``messages_committed`` with the number actually stored."""
        self._batch_size.observe(size)
        self._commit_seconds.observe(max(seconds, 0.0))

    # Delivery ---------------------------------------------------------------------------------

    def delivered(self, seconds: float) -> None:
        """An entry frame was queued for a connection ``seconds`` after the entry's creation."""
        self._delivery_seconds.observe(max(seconds, 0.0))

    def delivered_since(self, created_at: datetime) -> None:
        """An entry created at ``created_at`` was just queued for a connection (by this node's
        clock: the same as the one that stamped it)."""
        self.delivered((self._clock.now() - created_at).total_seconds())

    # Routing ----------------------------------------------------------------------------------

    def dispatch_decision(self, outcome: DispatchOutcome, n: int = 1) -> None:
        if n > 0:
            self._dispatch[outcome] += n

    def dispatch_run(self, events: Iterable[routing.RoutingEvent]) -> None:
        """One dispatcher run of one workgroup, committed, with the events it wrote."""
        self._dispatch["run"] += 1
        for event in events:
            outcome = _outcome(event)
            if outcome is not None:
                self._dispatch[outcome] += 1

    def routing_load(self, how: str) -> None:
        """A routing transaction loaded a workgroup's queue: ``full``, ``changes`` (a kept queue
        caught up from the change feed) or ``unchanged`` (a kept queue as it was)."""
        self._routing_loads[how] += 1

    def queue_lengths(self, waiting: Mapping[tuple[str, str], int]) -> None:
        """Replace the waiting counts: ``(workgroup slug, queue name) -> requests waiting``.
        Queues that are gone disappear from the output."""
        self._waiting = dict(waiting)

    # Limits -----------------------------------------------------------------------------------

    def limit_hit(self, name: str) -> None:
        """A limit refused something (or, for ``ws_typing``, dropped it). ``name``: the rule's
        name (``login_ip``, ``send``, ``ws_message``, ...) or one of the edge limits
        (``body_too_large``, ``max_header_bytes``, ``header_timeout``,
        ``ws_connections_per_ip``, ``max_hellos_in_flight``)."""
        self._limits[name] += 1

    # Exposition -------------------------------------------------------------------------------

    def render(self) -> bytes:
        """The whole registry in the Prometheus text format (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        """The collector the registry calls at scrape time."""
        info = GaugeMetricFamily(
            "parley_info", "This node: its version and node id.", labels=["version", "node"]
        )
        info.add_metric([__version__, self._node_id], 1)
        yield info
        yield _labelled(
            GaugeMetricFamily,
            "parley_connections",
            "Open authenticated WebSocket connections, by kind (visitor or staff).",
            "kind",
            self._open,
        )
        yield _labelled(
            CounterMetricFamily,
            "parley_connections_opened",
            "Authenticated WebSocket connections opened, by kind.",
            "kind",
            self._opened,
        )
        yield CounterMetricFamily(
            "parley_messages_committed",
            "Messages (and private notes) committed to the database.",
            value=self._messages,
        )
        yield self._batch_size.family(
            "parley_commit_batch_size",
            "Messages per committed write batch (1 per send without group commit).",
        )
        yield self._commit_seconds.family(
            "parley_commit_seconds",
            "Seconds from a write batch starting (its wait for the writer included) to its "
            "commit returning.",
        )
        yield self._delivery_seconds.family(
            "parley_delivery_seconds",
            "Seconds from an entry's creation to its frame being queued for a connection on "
            "this node (live delivery; catch-up after a resume is not counted).",
        )
        yield _labelled(
            CounterMetricFamily,
            "parley_dispatch_decisions",
            "Dispatcher runs and what they decided, by outcome.",
            "outcome",
            self._dispatch,
        )
        yield _labelled(
            CounterMetricFamily,
            "parley_routing_loads",
            "Routing transactions' loads of a workgroup's queue, by how: full, changes (a kept "
            "queue caught up from the change feed), unchanged.",
            "how",
            self._routing_loads,
        )
        waiting = GaugeMetricFamily(
            "parley_queue_waiting",
            "Requests waiting, by workgroup and queue (read from the database at scrape time: "
            "the same on every node).",
            labels=["workgroup", "queue"],
        )
        for (workgroup, queue), n in sorted(self._waiting.items()):
            waiting.add_metric([workgroup, queue], n)
        yield waiting
        yield _labelled(
            CounterMetricFamily,
            "parley_limit_hits",
            "Requests, messages and connections refused (or dropped) by a limit, by limit name.",
            "name",
            self._limits,
        )


def _labelled(
    kind: type[GaugeMetricFamily] | type[CounterMetricFamily],
    name: str,
    documentation: str,
    label: str,
    values: Mapping[str, int],
) -> Metric:
    family = kind(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def _outcome(event: routing.RoutingEvent) -> DispatchOutcome | None:
    match event:
        case routing.OfferMade():
            return "offer"
        case routing.OfferEnded(reason="timed_out"):
            return "offer_timed_out"
        case routing.RequestEnded(reason="expired"):
            return "request_expired"
        case routing.RequestMoved():
            return "request_moved"
        case routing.AgentSetAway():
            return "agent_away"
    return None
