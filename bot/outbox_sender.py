"""The outbox sender (DESIGN step 4): deliver cards and messages, per conversation in order.

Each round claims the due *head* of every conversation (``storage.outbox``), delivers those
concurrently (different conversations never wait for each other), and records the result:
sent with its latency, or a retry at an exponentially later time with jitter. A failing head
blocks only its own conversation, so nothing overtakes it and nothing else stalls. A platform
outage therefore loses nothing: rows wait in the table and go out in order afterwards.

WeCom silently drops more than 30 messages a minute to one member, so a pacer holds a
conversation's head back (without counting a failure) until that recipient has room again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.workers import utcnow
from core.masking import mask_text
from core.outbox import Backoff, OutboxItem, OutKind, Sent
from handlers.ports import ChatSender, ChatUnitOfWork, PermanentDeliveryError

log = logging.getLogger("orderbot.outbox")


@dataclass(frozen=True)
class SenderSettings:
    poll_s: float = 0.2  # idle wait between rounds (a wake() cuts it short)
    batch: int = 100  # conversation heads per round
    lease_s: float = 30.0  # a claimed row is ours this long (then another sender may take it)
    backoff: Backoff = field(default_factory=Backoff)
    paced: Mapping[str, int] = field(default_factory=lambda: {"wecom": 30})  # per recipient/min


class Pacer:
    """At most ``limit`` sends per key in any 60 s window (monotonic clock)."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit, self._clock = limit, clock
        self._sent: dict[str, deque[float]] = defaultdict(deque)

    def wait_s(self, key: str) -> float:
        """0 when ``key`` may send now, else how long until it may."""
        window, now = self._sent[key], self._clock()
        while window and now - window[0] >= 60.0:
            window.popleft()
        return 0.0 if len(window) < self._limit else 60.0 - (now - window[0])

    def record(self, key: str) -> None:
        self._sent[key].append(self._clock())


@dataclass(frozen=True, slots=True)
class Result:
    item: OutboxItem
    sent_at: datetime | None = None
    ref: str | None = None
    error: str = ""
    retry_at: datetime | None = None  # None with an error: gave up for good


class OutboxSender:
    """One per process; several processes may run one each (claims are leases)."""

    def __init__(self, new_uow: Callable[[], ChatUnitOfWork], senders: Mapping[str, ChatSender],
                 settings: SenderSettings | None = None,
                 clock: Callable[[], datetime] = utcnow, *,
                 standby: Collection[str] = ()) -> None:
        self._new_uow, self._senders = new_uow, dict(senders)
        self._standby = set(standby)  # platforms whose link is up in another process only
        self._settings = settings or SenderSettings()
        self._clock = clock
        self._pacers = {p: Pacer(n) for p, n in self._settings.paced.items()}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        """Something was just queued: start the next round now."""
        self._wake.set()

    def set_available(self, platform: str, available: bool) -> None:
        """A platform with one link per deployment (the WeCom smart robot's connection, held
        by the leader process): while it is down here, its rows are left for the process
        that holds it instead of failing here."""
        if available:
            self._standby.discard(platform)
            self.wake()
        else:
            self._standby.add(platform)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # cleared before the round: a wake-up during it is not lost
            try:
                busy = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database itself failed: wait, then try again
                log.exception("outbox round failed")
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.poll_s)

    async def run_once(self) -> int:
        """One round: claim, deliver, record. Returns how many rows were claimed."""
        items, refs = await self._claim()
        if not items:
            return 0
        results = await asyncio.gather(*(self._deliver(i, refs.get(i.id)) for i in items))
        await self._record(results)
        return len(items)

    async def _claim(self) -> tuple[list[OutboxItem], dict[int, str | None]]:
        settings = self._settings
        async with self._new_uow() as uow:
            items = await uow.outbox.claim(now=self._clock(), lease_s=settings.lease_s,
                                           limit=settings.batch,
                                           skip_platforms=sorted(self._standby))
            refs = {i.id: await uow.outbox.delivery_ref(i.message.card_id or "",
                                                        *i.conversation_key)
                    for i in items if i.message.kind is OutKind.CARD_UPDATE}
            await uow.commit()
        return items, refs

    async def _deliver(self, item: OutboxItem, ref: str | None) -> Result:
        platform, conversation = item.conversation_key
        sender, pacer = self._senders.get(platform), self._pacers.get(platform)
        if sender is None:
            return Result(item, error=f"no sender for platform {platform!r}")
        wait = pacer.wait_s(conversation) if pacer else 0.0
        if wait > 0:
            return Result(item, error="paced", retry_at=self._clock() + timedelta(seconds=wait))
        try:
            delivered_ref = await sender.deliver(item, ref)
        except PermanentDeliveryError as error:
            return Result(item, error=f"refused: {error}")
        except Exception as error:
            retry_at = self._settings.backoff.next_attempt(item.attempts, self._clock())
            return Result(item, error=f"{type(error).__name__}: {error}", retry_at=retry_at)
        if pacer:
            pacer.record(conversation)
        return Result(item, sent_at=self._clock(), ref=delivered_ref)

    async def _record(self, results: Sequence[Result]) -> None:
        async with self._new_uow() as uow:
            await uow.outbox.mark_sent([Sent(r.item, r.sent_at, r.ref) for r in results
                                        if r.sent_at is not None])
            for result in results:
                if result.sent_at is None:
                    await uow.outbox.mark_failed(result.item, error=result.error,
                                                 next_attempt_at=result.retry_at)
                    _log_failure(result)
            await uow.commit()


def _log_failure(result: Result) -> None:
    item = result.item
    where = f"outbox #{item.id} ({item.message.platform}, attempt {item.attempts})"
    if result.error == "paced":
        log.info("%s: paced until %s", where, result.retry_at)
    elif result.retry_at is None:
        log.error("%s gave up: %s", where, mask_text(result.error))
    else:
        log.warning("%s failed, retry at %s: %s", where, result.retry_at,
                    mask_text(result.error))
