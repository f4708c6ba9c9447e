"""Time, as an adapter. The domain takes ``now`` as an argument; services ask a ``Clock``.

``SystemClock`` is the real one. Tests use ``tests.fakes.FakeClock``, which only moves when a
test advances it, so that timeouts are tested without sleeping.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep_until(self, when: datetime) -> None:
        """Return once ``now() >= when``."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
