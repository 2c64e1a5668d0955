"""SLA timers: 100,000 pending timers due 60-120 s after they are set, fired by the real timer
worker; the firing error (commit of the effect - due time) p99 is ``timer_fire_error_p99_ms``
(target < 1,000).

The demand: 100,000 deadlines spread evenly over 60 s, i.e. ~1,667 timers/s for a minute
(``timer_fire_demand_per_s``), with all 100,000 pending at the start. That is a burst far
above a real shop's (A-class SLAs of 2 min on a few thousand orders a day), so the figure
says how much room the machinery leaves, not what a quiet day looks like.

Production shape first: PostgreSQL holds the timers (set 5,000 per transaction before the
workers start), two timer workers (as two processes would, with the ``[timers]`` defaults:
batches of 500, 4 firing transactions in flight each) relay them to the Redis sorted set,
claim due ones with the Lua script and fire them (take + effect + commit). Both workers run
in this one process, so they share one core with the bench itself (stricter than two
processes). Then the embedded shape: one worker on SQLite with the SQL queue, one firing
transaction at a time as ``orderbot run`` uses it (``timer_fire_error_p99_ms_sql``).

"Fired" is when the firing transaction has committed, read after ``commit()`` returns: the
effect of a bench timer is noting its key in that transaction, so the figure is the
machinery's (relay, claim, take, commit), not a handler's. ``timer_fire_cpu_us`` is this
process's CPU time per fired timer while firing (Redis shape; PostgreSQL's and Redis' own
CPU not included): unlike the latency it does not depend on how loaded the machine is. The
load average is printed beside the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import time
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
SPREAD = (60.0, 120.0)  # due this many seconds after the load starts
DEMAND_PER_S = TIMERS / (SPREAD[1] - SPREAD[0])


def now() -> datetime:
    return datetime.now(UTC)


class _TimedUow(SqlUnitOfWork):
    """Stamps the bench timers noted in this transaction when its commit has returned."""

    def __init__(self, sessions: object, errors: list[float]) -> None:
        super().__init__(sessions)  # type: ignore[arg-type]
        self.noted: list[Timer] = []
        self._errors = errors

    async def commit(self) -> None:
        await super().commit()
        at = now()
        self._errors += [(at - t.due_at).total_seconds() * 1000 for t in self.noted]
        self.noted.clear()


async def _note(uow: ChatUnitOfWork, timer: Timer, at: datetime) -> None:
    uow.noted.append(timer)  # type: ignore[attr-defined]


async def _load(new_uow: Callable[[], SqlUnitOfWork], start: datetime) -> None:
    rng = random.Random(7)
    timers = [Timer(f"bench:{n}", TimerKind.BENCH, str(n),
                    start + timedelta(seconds=rng.uniform(*SPREAD))) for n in range(TIMERS)]
    for first in range(0, TIMERS, 5000):
        async with new_uow() as uow:
            await uow.timers.set(timers[first:first + 5000], at=start)
            await uow.commit()


async def _run(url: str, make_queue: Callable[[object], TimerQueue], workers: int,
               settings: TimerSettings) -> tuple[list[float], float]:
    """Firing errors (ms) of all timers, and CPU seconds of this process while firing."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    errors: list[float] = []
    registry = TimerRegistry()
    registry.register(TimerKind.BENCH, _note)

    def new_uow() -> _TimedUow:
        return _TimedUow(sessions, errors)

    try:
        start = now()
        await _load(lambda: SqlUnitOfWork(sessions), start)
        loaded = (now() - start).total_seconds()
        print(f"# {TIMERS:,} timers set in {loaded:.1f} s", file=sys.stderr)
        running = [TimerWorker(make_queue(engine), registry, new_uow, now,  # type: ignore[arg-type]
                               settings) for _ in range(workers)]
        tasks = [asyncio.create_task(w.run()) for w in running]
        await asyncio.sleep(max(0.0, (start + timedelta(seconds=SPREAD[0]) - now())
                                .total_seconds()))
        cpu = time.process_time()
        for _ in range(int((SPREAD[1] - SPREAD[0] + 60) * 10)):
            if len(errors) >= TIMERS:
                break
            await asyncio.sleep(0.1)
        cpu = time.process_time() - cpu
        for worker in running:
            worker.stop()
        await asyncio.gather(*tasks)
    finally:
        await engine.dispose()
    if len(errors) != TIMERS:
        raise RuntimeError(f"{len(errors)} of {TIMERS} timers fired")
    return errors, cpu


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[int(len(ordered) * 0.99) - 1], 1)


def _load_average(label: str) -> None:
    one, five, _ = os.getloadavg()
    print(f"# {label}: load average {one:.2f} (1 min), {five:.2f} (5 min) on "
          f"{os.cpu_count()} cores", file=sys.stderr)


async def run() -> list[Figure]:
    prefix = f"bench:{uuid.uuid4().hex[:8]}:timers"
    _load_average("timers (Redis queue, PostgreSQL) start")
    async with postgres_database("orderbot_bench_timers") as url, \
            open_redis("redis://127.0.0.1:6379/0", max_connections=20) as redis:
        try:
            errors, cpu = await _run(
                url, lambda engine: RedisTimerQueue(redis, engine, prefix=prefix),  # type: ignore[arg-type]
                workers=2, settings=TimerSettings())
        finally:
            with contextlib.suppress(Exception):
                await redis.delete(f"{prefix}:due", f"{prefix}:processing")
    _load_average("timers (Redis queue, PostgreSQL) end")
    figures = [Figure("timer_fire_error_p99_ms", p99(errors), "ms"),
               Figure("timer_fire_error_max_ms", round(max(errors), 1), "ms"),
               Figure("timer_fire_cpu_us", round(cpu / TIMERS * 1e6, 1), "us"),
               Figure("timer_fire_demand_per_s", round(DEMAND_PER_S, 1), "timers/s")]
    async with sqlite_database() as url:
        errors, _ = await _run(url, lambda engine: SqlTimerQueue(engine),  # type: ignore[arg-type]
                               workers=1, settings=TimerSettings(parallel=1))
    _load_average("timers (SQL queue, SQLite) end")
    figures.append(Figure("timer_fire_error_p99_ms_sql", p99(errors), "ms"))
    return figures
