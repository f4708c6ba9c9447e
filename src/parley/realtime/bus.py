"""The bus between nodes.

``LocalBus`` serves one process. ``RedisBus`` also forwards every notification to the other
nodes through Redis pub/sub, which may drop messages: each node still delivers its own
notifications locally at once, and when the Redis subscription is (re)established it asks the
hub to resynchronise every connection from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from parley.realtime.notifications import Notification, notification_adapter

log = logging.getLogger(__name__)

Handler = Callable[[Notification], Awaitable[None]]
ResyncHandler = Callable[[], Awaitable[None]]
DEFAULT_CHANNEL = "parley:notifications"
PUBLISH_TIMEOUT_SECS = 2.0


class Bus:
    """Delivers to the local handlers. Subclasses also reach other nodes."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []
        self._resync: list[ResyncHandler] = []

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def on_resync(self, handler: ResyncHandler) -> None:
        self._resync.append(handler)

    async def publish(self, notes: Sequence[Notification]) -> None:
        for note in notes:
            await self._deliver(note)

    async def _deliver(self, note: Notification) -> None:
        for handler in self._handlers:
            try:
                await handler(note)
            except Exception:  # a failing listener must not stop the others
                log.exception("notification handler failed for %s", note.kind)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None


class LocalBus(Bus):
    pass


class RedisBus(Bus):
    def __init__(
        self, url: str, node_id: str, *, channel: str = DEFAULT_CHANNEL, retry_secs: float = 1.0
    ) -> None:
        super().__init__()
        self._channel = channel
        # Named, so that operators (and tests) can tell the nodes apart in CLIENT LIST.
        # Publishing has timeouts: a Redis that hangs must not hold up commits' notifications.
        # The subscriber's connection has none: it sits idle between messages by design.
        self._redis: Redis = Redis.from_url(
            url,
            client_name=f"parley-{node_id}",
            socket_timeout=PUBLISH_TIMEOUT_SECS,
            socket_connect_timeout=PUBLISH_TIMEOUT_SECS,
        )
        self._subscriber: Redis = Redis.from_url(
            url, client_name=f"parley-{node_id}", health_check_interval=30
        )
        self._node_id = node_id
        self._retry_secs = retry_secs
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def publish(self, notes: Sequence[Notification]) -> None:
        for note in notes:
            await self._deliver(note)
        if not notes:
            return
        payload = json.dumps(
            {"node": self._node_id, "notes": [n.model_dump(mode="json") for n in notes]}
        )
        try:
            await self._redis.publish(self._channel, payload)
        except (RedisError, OSError):
            # The commit happened; other nodes catch up when their subscription returns
            # (they resynchronise from the database) or at their next gap.
            log.warning("could not publish to Redis; other nodes will catch up", exc_info=True)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="redis-bus")
        # Wait for the first subscription so that nothing published after start-up is missed.
        await self._subscribed.wait()

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()
        await self._subscriber.aclose()

    async def _listen(self) -> None:
        first = True
        while True:
            try:
                async with self._subscriber.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    self._subscribed.set()
                    if not first:
                        await self._run_resync()
                    first = False
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self._receive(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                # Whatever failed, the listener must live on: without it this node hears
                # nothing from the others.
                log.warning("Redis subscription lost; retrying", exc_info=True)
                first = False
                await asyncio.sleep(self._retry_secs)

    async def _run_resync(self) -> None:
        """Anything published while we were away is in the database: catch up from it."""
        for handler in self._resync:
            try:
                await handler()
            except Exception:
                log.exception("resynchronising after a Redis outage failed")

    async def _receive(self, data: bytes) -> None:
        try:
            payload = json.loads(data)
            if payload.get("node") == self._node_id:
                return
            notes = [notification_adapter.validate_python(n) for n in payload["notes"]]
        except (ValueError, KeyError, TypeError):
            log.exception("ignoring a malformed bus message")
            return
        for note in notes:
            await self._deliver(note)
