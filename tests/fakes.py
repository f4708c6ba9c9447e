"""Test doubles: a clock that only moves when told to."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self._now = start
        self._waiters: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, when: datetime) -> None:
        if when <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (when, future)
        self._waiters.append(entry)
        try:
            await future
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        for when, future in list(self._waiters):
            if when <= self._now and not future.done():
                future.set_result(None)
