"""``wait_first``, the wait of every background loop (dispatcher, maintenance, mail)."""

from __future__ import annotations

import asyncio

import pytest

from parley.services.runtime import wait_first


async def test_a_cancel_that_comes_while_it_cleans_up_is_not_lost() -> None:
    """``Parley.stop`` cancels each loop once and waits for it: a cancel that arrives while
    ``wait_first`` is cancelling its own two waits must still end the loop."""
    event = asyncio.Event()
    cleaning_up = asyncio.Event()

    async def slow_to_cancel() -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_future()
        except asyncio.CancelledError:
            cleaning_up.set()
            await loop.create_future()  # until cancelled once more

    task = asyncio.create_task(wait_first(event, slow_to_cancel()))
    event.set()
    await cleaning_up.wait()  # wait_first has cancelled the sleeper and waits for it
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
