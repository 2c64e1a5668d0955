"""Use case: due timers fire. One registry maps each timer kind to its handler.

``fire_timers`` runs a claimed batch in one unit of work: for each timer, ``uow.timers.take``
removes it (None: cancelled, fired by someone else, or moved later: skip) and its handler
makes the effect in the same transaction, so a timer's effect and its removal commit together
(once in effect, even when a worker dies after claiming). A batch that fails is retried one
timer at a time; a timer whose handler keeps failing is counted, and after ``MAX_FAILURES`` it
is dead-lettered with the error instead of firing forever. A kind without a handler is
dead-lettered at once (never silently dropped).

Registering a kind: ``registry.register(TimerKind.GATE_EXPIRE, handler)`` where ``handler``
is ``async (uow, timer, now) -> None`` (bind its dependencies with a closure).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from core.clock import to_iso
from core.timers import Timer
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.timers")
MAX_FAILURES = 5

TimerHandler = Callable[[ChatUnitOfWork, Timer, datetime], Awaitable[None]]


class TimerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, TimerHandler] = {}

    def register(self, kind: str, handler: TimerHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"timer kind {kind!r} registered twice")
        self._handlers[kind] = handler

    def get(self, kind: str) -> TimerHandler | None:
        return self._handlers.get(kind)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self._handlers)


async def fire_timers(timers: Sequence[Timer], registry: TimerRegistry,
                      new_uow: Callable[[], ChatUnitOfWork], *, now: datetime) -> list[Timer]:
    """Fire a claimed batch; returns the timers that are finished (fired, skipped, or
    dead-lettered): the caller drops their claims. Failed ones keep theirs (retried)."""
    try:
        await _fire(timers, registry, new_uow, now)
        return list(timers)
    except Exception as error:  # isolate: one bad timer must not hold back the others
        log.warning("timer batch of %d failed (%s: %s); one by one", len(timers),
                    type(error).__name__, error)
    finished: list[Timer] = []
    for timer in timers:
        try:
            await _fire([timer], registry, new_uow, now)
            finished.append(timer)
        except Exception as error:
            log.exception("timer %s (%s) failed", timer.key, timer.kind)
            if await _count_failure(timer, error, new_uow, now):
                finished.append(timer)
    return finished


async def _fire(timers: Sequence[Timer], registry: TimerRegistry,
                new_uow: Callable[[], ChatUnitOfWork], now: datetime) -> None:
    async with new_uow() as uow:
        for timer in await uow.timers.take_many([t.key for t in timers], now=now):
            handler = registry.get(timer.kind)
            if handler is None:
                await _dead_letter(uow, timer, f"no handler for timer kind {timer.kind!r}", now)
                continue
            await handler(uow, timer, now)
        await uow.commit()


async def _count_failure(timer: Timer, error: Exception,
                         new_uow: Callable[[], ChatUnitOfWork], now: datetime) -> bool:
    """True when the timer was given up on (dead-lettered and removed)."""
    reason = f"{type(error).__name__}: {error}"
    async with new_uow() as uow:
        failures = await uow.timers.failed(timer.key)
        if failures < MAX_FAILURES:
            await uow.commit()
            return failures == 0
        await uow.timers.cancel([timer.key])
        await _dead_letter(uow, timer, f"gave up after {failures} failures: {reason}", now)
        await uow.commit()
        return True


async def _dead_letter(uow: ChatUnitOfWork, timer: Timer, reason: str, now: datetime) -> None:
    log.error("timer %s dead-lettered: %s", timer.key, reason)
    raw = json.dumps({"key": timer.key, "kind": timer.kind, "ref": timer.ref,
                      "due_at": to_iso(timer.due_at)}, ensure_ascii=False).encode()
    await uow.dead_letters.add(source=f"timer:{timer.kind}", reason=reason, raw=raw,
                               received_at=now, content_type="application/json")
