"""The SLA timer loop: claim due timers, fire them, sleep exactly until the next deadline.

Every process runs one (``orderbot run`` and each ``orderbot worker``); the queue hands each
due timer to one of them (a lease), and the firing transaction removes it with its effect.
The loop sleeps until the next deadline the queue knows of, at most ``max_sleep_ms`` (timers
other processes set meanwhile are seen that soon), and is woken at once when this process
sets one. The clock is injected, so tests move time instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from handlers.ports import ChatUnitOfWork, TimerQueue
from handlers.timers import TimerRegistry, fire_timers

log = logging.getLogger("orderbot.timers")

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class TimerSettings:
    lease_s: float = 30.0
    batch: int = 500
    max_sleep_s: float = 0.25


class TimerWorker:
    def __init__(self, queue: TimerQueue, registry: TimerRegistry,
                 new_uow: Callable[[], ChatUnitOfWork], clock: Clock,
                 settings: TimerSettings) -> None:
        self._queue = queue
        self._registry = registry
        self._new_uow = new_uow
        self._clock = clock
        self._settings = settings
        self._wake = asyncio.Event()
        self._stopping = False
        self.fired = 0

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                if not await self.run_once():
                    await self._sleep()
            except asyncio.CancelledError:
                raise
            except Exception:  # queue or database down: wait, then try again
                log.exception("timer worker: queue error")
                await asyncio.sleep(1.0)

    async def run_once(self) -> int:
        """Relay, claim and fire one batch; how many timers were claimed."""
        now = self._clock()
        await self._queue.relay(now=now)
        settings = self._settings
        timers = await self._queue.claim(now=now, limit=settings.batch, lease_s=settings.lease_s)
        if not timers:
            return 0
        finished = await fire_timers(timers, self._registry, self._new_uow, now=self._clock())
        await self._queue.done([t.key for t in finished])
        self.fired += len(finished)
        return len(timers)

    async def _sleep(self) -> None:
        next_due = await self._queue.next_due()
        delay = self._settings.max_sleep_s
        if next_due is not None:
            delay = min(delay, max(0.0, (next_due - self._clock()).total_seconds()))
        self._wake.clear()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
