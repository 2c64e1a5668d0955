"""Inbox workers: take batches, run the use case, ack; reclaim what dead workers left.

Retries come from our own pending list, never from the platform: a batch that fails is not
acked, so after ``reclaim_idle_s`` any worker reclaims it (attempts + 1); past
``max_attempts`` an envelope is dead-lettered with the last error instead of looping forever.
"""

from __future__ import annotations

import asyncio
import logging
import time
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
    batch: int = 200
    block_ms: int = 500
    reclaim_idle_s: float = 30.0
    max_attempts: int = 5


class Worker:
    def __init__(self, name: str, consumer: InboxConsumer, handle: Handle, poison: Poison,
                 settings: WorkerSettings) -> None:
        self.name = name
        self._consumer = consumer
        self._handle = handle
        self._poison = poison
        self._settings = settings
        self._stopping = asyncio.Event()
        self._last_reclaim = 0.0
        self._last_error = ""

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
        envelopes = await self._reclaim() or await self._consumer.take(
            self.name, self._settings.batch, self._settings.block_ms)
        if not envelopes:
            return 0
        fresh = [e for e in envelopes if e.attempts <= self._settings.max_attempts]
        for poisoned in (e for e in envelopes if e.attempts > self._settings.max_attempts):
            await self._poison(poisoned, f"gave up after {poisoned.attempts - 1} attempts: "
                                         f"{self._last_error or 'unknown error'}")
            await self._consumer.ack([poisoned])
        try:
            await self._handle(fresh)
        except Exception as error:
            self._last_error = f"{type(error).__name__}: {error}"
            log.exception("worker %s: batch of %d failed; it will be reclaimed", self.name,
                          len(fresh))
            return 0
        await self._consumer.ack(fresh)
        return len(envelopes)

    async def _reclaim(self) -> list[Envelope]:
        idle = self._settings.reclaim_idle_s
        if time.monotonic() - self._last_reclaim < idle / 2:
            return []
        self._last_reclaim = time.monotonic()
        return await self._consumer.reclaim(self.name, int(idle * 1000), self._settings.batch)


def utcnow() -> datetime:
    return datetime.now(UTC)
