"""The SLA timer loop: claim due timers, fire them, sleep exactly until the next deadline.

Every process runs one (``orderbot run`` and each ``orderbot worker``); the queue hands each
due timer to one of them (a lease), and the firing transaction removes it with its effect.

Two loops, so that neither waits for the other:

* the relay (Redis queue only; a no-op on the SQL queue) copies newly set timers from SQL to
  the sorted set, earliest first, again at once while it moves full batches: it keeps ahead
  of the deadlines even while thousands fire;
* the claim loop hands each claimed batch to a firing task and claims the next while up to
  ``parallel`` batches are in flight (their transactions overlap their round trips; SQLite
  has one writer, so 1 there); a full batch means more are due: it claims again at once.
  Drained, it sleeps until the next deadline the queue knows of, at most ``max_sleep_s``
  (timers other processes set meanwhile are seen that soon), at least ``gather_s``, and is
  woken at once by ``wake()`` and by a relay pass that moved something.

The clock is injected, so tests move time instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.timers import Timer
from handlers.ports import ChatUnitOfWork, TimerQueue
from handlers.timers import TimerRegistry, fire_timers

log = logging.getLogger("orderbot.timers")

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class TimerSettings:
    lease_s: float = 30.0
    batch: int = 500  # timers per claim and per firing transaction
    max_sleep_s: float = 0.25
    parallel: int = 4  # firing transactions in flight (1 on SQLite)
    gather_s: float = 0.05  # a drained queue is looked at again no sooner than this


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
        self._relay_wake = asyncio.Event()
        self._stopping = False
        self._firing: set[asyncio.Task[None]] = set()
        self.fired = 0

    def wake(self) -> None:
        """Timers were set here: relay them and look at the next deadline now."""
        self._relay_wake.set()
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self.wake()

    async def run(self) -> None:
        """Until ``stop()``; then the batches in flight finish (cancelled: they roll back and
        their leases run out, so another worker fires them)."""
        relay = asyncio.create_task(self._relay_loop(), name="timer-relay")
        try:
            await self._claim_loop()
            await asyncio.gather(*self._firing)
        finally:
            relay.cancel()
            for task in self._firing:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(relay, *self._firing)

    async def _claim_loop(self) -> None:
        slots = asyncio.Semaphore(max(1, self._settings.parallel))
        while not self._stopping:
            await slots.acquire()
            try:
                timers = await self._claim()
            except asyncio.CancelledError:
                slots.release()
                raise
            except Exception:  # queue or database down: wait, then try again
                slots.release()
                log.exception("timer worker: claim failed")
                self._wake.clear()
                await self._pause(self._wake, 1.0)
                continue
            if timers:
                task = asyncio.create_task(self._fire(timers, slots), name="timer-fire")
                self._firing.add(task)
                task.add_done_callback(self._firing.discard)
            else:
                slots.release()
            if len(timers) < self._settings.batch:  # drained up to now
                await self._sleep()

    async def _claim(self) -> list[Timer]:
        settings = self._settings
        return await self._queue.claim(now=self._clock(), limit=settings.batch,
                                       lease_s=settings.lease_s)

    async def _fire(self, timers: Sequence[Timer], slots: asyncio.Semaphore) -> None:
        try:
            finished = await fire_timers(timers, self._registry, self._new_uow,
                                         now=self._clock())
            await self._queue.done([t.key for t in finished])
            self.fired += len(finished)
        except Exception:  # the leases run out and another pass fires them
            log.exception("timer worker: firing %d timer(s) failed", len(timers))
        finally:
            slots.release()

    async def _relay_loop(self) -> None:
        while not self._stopping:
            self._relay_wake.clear()  # a wake during the pass means: pass again
            try:
                moved = await self._queue.relay(now=self._clock())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("timer worker: relay failed")
                await self._pause(self._relay_wake, 1.0)
                continue
            if moved:
                self._wake.set()  # they may be due before what the claim loop waits for
                continue
            await self._pause(self._relay_wake, self._settings.max_sleep_s)

    async def _sleep(self) -> None:
        """Until the next deadline, at most ``max_sleep_s``, at least ``gather_s``; or until
        woken. The floor only matters when deadlines are dense (hundreds a second): the
        timers due meanwhile are claimed and committed together, one round trip for many,
        instead of one transaction per timer that would fall behind."""
        settings = self._settings
        self._wake.clear()  # before reading: a wake that comes during the read counts
        next_due = await self._queue.next_due()
        delay = settings.max_sleep_s
        if next_due is not None:
            until = (next_due - self._clock()).total_seconds()
            delay = min(delay, max(settings.gather_s, until))
        await self._pause(self._wake, delay)

    async def _pause(self, event: asyncio.Event, seconds: float) -> None:
        if self._stopping:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
