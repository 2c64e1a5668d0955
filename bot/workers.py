"""Inbox workers: take batches, run the use case, ack; reclaim what dead workers left.

Retries come from our own pending list, never from the platform: a batch that fails is not
acked, so after ``reclaim_idle_s`` any worker reclaims it (attempts + 1); past
``max_attempts`` an envelope is dead-lettered with its last error instead of looping forever.

One poison envelope must not hold back the good ones batched with it: a failed batch is tried
again one envelope at a time, and only the envelopes that fail on their own stay unacked.
Three single failures in a row mean the infrastructure is down (database, Redis), not the
envelopes: then the rest waits for the reclaim instead of failing one by one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from core.inbox import Envelope
from handlers.ports import InboxConsumer

log = logging.getLogger("orderbot.workers")

Handle = Callable[[Sequence[Envelope]], Awaitable[None]]
Poison = Callable[[Envelope, str], Awaitable[None]]


@dataclass(frozen=True)
class WorkerSettings:
    """``linger_ms``: a take that came back short of ``batch`` waits this long once and takes
    what arrived meanwhile, so trickling traffic is stored in batches too. A batch has a fixed
    cost (one transaction of ~25 round trips: ~3 ms of worker CPU and ~1.5 ms of PostgreSQL's,
    against ~190 + ~110 us per order); at 1,000 pushes/s four workers each woken by the next
    push stored ~15 orders a batch, and that fixed part took the CPU the webhook acks need.
    Storing is that much later; the push was acknowledged before it was queued."""

    batch: int = 200
    block_ms: int = 500
    linger_ms: int = 50
    reclaim_idle_s: float = 30.0
    max_attempts: int = 5


class Worker:
    def __init__(self, name: str, consumer: InboxConsumer, handle: Handle, poison: Poison,
                 settings: WorkerSettings, taking: asyncio.Lock | None = None) -> None:
        """``taking``: shared by the workers of one process so that one of them at a time
        waits for new work (and lingers); the others process their batches meanwhile."""
        self.name = name
        self._taking = taking or asyncio.Lock()
        self._consumer = consumer
        self._handle = handle
        self._poison = poison
        self._settings = settings
        self._stopping = asyncio.Event()
        self._last_reclaim = 0.0
        self._last_error = ""
        self._errors: OrderedDict[str, str] = OrderedDict()  # envelope id -> its last error

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the inbox itself failed: wait, then try again
                log.exception("worker %s: inbox error", self.name)
                self._last_error = f"{type(error).__name__}: {error}"
                await asyncio.sleep(1.0)

    async def run_once(self) -> int:
        """One batch: reclaimed work first (it is older), else new work. Returns its size."""
        envelopes = await self._reclaim() or await self._take()
        if not envelopes:
            return 0
        fresh = [e for e in envelopes if e.attempts <= self._settings.max_attempts]
        for poisoned in (e for e in envelopes if e.attempts > self._settings.max_attempts):
            cause = self._errors.pop(poisoned.id, None) or self._last_error or "unknown error"
            await self._poison(poisoned, f"gave up after {poisoned.attempts - 1} attempts: "
                                         f"{cause}")
            await self._consumer.ack([poisoned])
        if not fresh:
            return len(envelopes)
        try:
            await self._handle(fresh)
        except Exception as error:
            self._remember(fresh, error)
            log.warning("worker %s: batch of %d failed (%s); isolating", self.name, len(fresh),
                        self._last_error)
            fresh = await self._one_by_one(fresh)
        await self._consumer.ack(fresh)
        return len(envelopes)

    async def _take(self) -> list[Envelope]:
        """New work: a blocking take, topped up once after ``linger_ms`` when it was short."""
        batch, linger_ms = self._settings.batch, self._settings.linger_ms
        async with self._taking:
            if self._stopping.is_set():  # stopped while another worker was taking
                return []
            taken = await self._consumer.take(self.name, batch, self._settings.block_ms)
            if taken and len(taken) < batch and linger_ms > 0 and not self._stopping.is_set():
                await asyncio.sleep(linger_ms / 1000)
                taken += await self._consumer.take(self.name, batch - len(taken), 0)
        return taken

    async def _one_by_one(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        """The envelopes of a failed batch that succeed alone (to ack)."""
        done: list[Envelope] = []
        failed_in_a_row = 0
        for envelope in envelopes:
            if failed_in_a_row == 3:
                log.error("worker %s: 3 envelopes failed alone; infrastructure down? %s",
                          self.name, self._last_error)
                break
            try:
                await self._handle([envelope])
            except Exception as error:
                self._remember([envelope], error)
                failed_in_a_row += 1
                log.exception("worker %s: envelope %s failed; it will be reclaimed", self.name,
                              envelope.id)
                continue
            failed_in_a_row = 0
            done.append(envelope)
        return done

    def _remember(self, envelopes: Sequence[Envelope], error: Exception) -> None:
        self._last_error = f"{type(error).__name__}: {error}"
        for envelope in envelopes:
            self._errors[envelope.id] = self._last_error
            self._errors.move_to_end(envelope.id)
        while len(self._errors) > 10_000:
            self._errors.popitem(last=False)

    async def _reclaim(self) -> list[Envelope]:
        idle = self._settings.reclaim_idle_s
        if time.monotonic() - self._last_reclaim < idle / 2:
            return []
        self._last_reclaim = time.monotonic()
        return await self._consumer.reclaim(self.name, int(idle * 1000), self._settings.batch)


def utcnow() -> datetime:
    return datetime.now(UTC)
