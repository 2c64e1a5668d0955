"""SLA timers: 100,000 pending timers due over 30-60 s, fired by the real timer worker; the
firing error (fire time - due time) p99 is ``timer_fire_error_p99_ms`` (target < 1,000).

Production shape first: PostgreSQL holds the timers (set in one transaction each batch, as
use cases do), two timer workers (two "processes" sharing one Redis) relay them to the Redis
sorted set, claim due ones with the Lua script and fire them (take + effect + commit). Then
the embedded shape: the same on SQLite with the SQL queue (``timer_fire_error_p99_ms_sql``).
The effect of a bench timer is recording when it fired: the figure is the machinery's.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench.common import Figure, postgres_database, sqlite_database
from bot.timer_worker import TimerSettings, TimerWorker
from core.timers import Timer, TimerKind
from handlers.ports import ChatUnitOfWork, TimerQueue
from handlers.timers import TimerRegistry
from storage.db import create_engine, session_factory
from storage.inbox.wiring import open_redis
from storage.redis_timers import RedisTimerQueue
from storage.timers import SqlTimerQueue
from storage.uow import SqlUnitOfWork

TIMERS = 100_000
SPREAD = (30.0, 60.0)
WORKERS = 2


def now() -> datetime:
    return datetime.now(UTC)


async def _load(new_uow: Callable[[], SqlUnitOfWork], start: datetime) -> None:
    rng = random.Random(7)
    timers = [Timer(f"bench:{n}", TimerKind.BENCH, str(n),
                    start + timedelta(seconds=rng.uniform(*SPREAD))) for n in range(TIMERS)]
    for first in range(0, TIMERS, 5000):
        async with new_uow() as uow:
            await uow.timers.set(timers[first:first + 5000], at=start)
            await uow.commit()


async def _run(url: str, make_queue: Callable[[object], TimerQueue]) -> list[float]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    errors: list[float] = []
    all_fired = asyncio.Event()

    async def record(uow: ChatUnitOfWork, timer: Timer, at: datetime) -> None:
        errors.append((now() - timer.due_at).total_seconds() * 1000)
        if len(errors) >= TIMERS:
            all_fired.set()

    registry = TimerRegistry()
    registry.register(TimerKind.BENCH, record)
    try:
        start = now()
        await _load(lambda: SqlUnitOfWork(sessions), start)
        workers = [TimerWorker(make_queue(engine), registry,
                               lambda: SqlUnitOfWork(sessions), now,  # type: ignore[arg-type, return-value]
                               TimerSettings(lease_s=30, batch=500, max_sleep_s=0.25))
                   for _ in range(WORKERS)]
        tasks = [asyncio.create_task(w.run()) for w in workers]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_fired.wait(), SPREAD[1] + 60)
        for worker in workers:
            worker.stop()
        await asyncio.gather(*tasks)
    finally:
        await engine.dispose()
    if len(errors) != TIMERS:
        raise RuntimeError(f"only {len(errors)} of {TIMERS} timers fired")
    return errors


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[int(len(ordered) * 0.99) - 1], 1)


async def run() -> list[Figure]:
    figures: list[Figure] = []
    prefix = f"bench:{uuid.uuid4().hex[:8]}:timers"
    async with postgres_database("orderbot_bench_timers") as url, \
            open_redis("redis://127.0.0.1:6379/0", max_connections=20) as redis:
        try:
            errors = await _run(url, lambda engine: RedisTimerQueue(redis, engine,  # type: ignore[arg-type]
                                                                  prefix=prefix))
        finally:
            await redis.delete(f"{prefix}:due", f"{prefix}:processing")
    figures += [Figure("timer_fire_error_p99_ms", p99(errors), "ms"),
                Figure("timer_fire_error_max_ms", round(max(errors), 1), "ms")]
    async with sqlite_database() as url:
        errors = await _run(url, lambda engine: SqlTimerQueue(engine))  # type: ignore[arg-type]
    figures.append(Figure("timer_fire_error_p99_ms_sql", p99(errors), "ms"))
    return figures
