"""SLA timer queues, one suite for every backend: the SQL table (SQLite and PostgreSQL) and the
Redis sorted set (with its SQL record on PostgreSQL).

What must hold: only due timers are handed out; a claimed timer is not handed to a second
worker while its lease lasts; a worker that dies after claiming loses the lease and the timer
fires later instead of never; a worker that dies after the effect committed but before
``done`` causes no second effect; several workers racing over the same due timers fire each
exactly once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.timers import Timer
from handlers.ports import ChatUnitOfWork, TimerQueue
from handlers.timers import TimerRegistry, fire_timers
from storage.redis_timers import RedisTimerQueue
from storage.timers import SqlTimerQueue
from storage.uow import SqlUnitOfWork
from tests.conftest import fresh_engine
from tests.redis_support import redis_for_test

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
QUEUES = ["sql-sqlite", "sql-postgres", "redis-postgres"]


@asynccontextmanager
async def queue_for(kind: str, engine: AsyncEngine) -> AsyncIterator[Callable[[], TimerQueue]]:
    if kind.startswith("sql"):
        yield lambda: SqlTimerQueue(engine)
        return
    async with redis_for_test() as (redis, prefix):
        yield lambda: RedisTimerQueue(redis, engine, prefix=prefix)


@pytest.fixture(params=QUEUES)
async def setup(request: pytest.FixtureRequest
                ) -> AsyncIterator[tuple[Callable[[], TimerQueue], Callable[[], SqlUnitOfWork],
                                         AsyncEngine]]:
    url = request.getfixturevalue("sqlite_url" if request.param.endswith("sqlite")
                                  else "pg_url")
    engine = await fresh_engine(url)
    from storage.db import session_factory

    sessions = session_factory(engine)
    async with queue_for(request.param, engine) as make:
        yield make, lambda: SqlUnitOfWork(sessions), engine
    await engine.dispose()


def recording_registry() -> TimerRegistry:
    """The effect of a test timer: a row in the firing transaction (rolled back with it)."""

    async def record(uow: ChatUnitOfWork, timer: Timer, now: datetime) -> None:
        await uow.dead_letters.add(source="timer-test", reason=timer.key,
                                   raw=f"{timer.key}:{uuid.uuid4()}".encode(), received_at=now)

    registry = TimerRegistry()
    registry.register("test", record)
    return registry


async def set_timers(new_uow: Callable[[], SqlUnitOfWork], timers: list[Timer]) -> None:
    async with new_uow() as uow:
        await uow.timers.set(timers, at=T0)
        await uow.commit()


async def fired(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT reason, count(*) FROM dead_letters WHERE source = 'timer-test' "
            "GROUP BY reason"))).all()
    return {r[0]: int(r[1]) for r in rows}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_only_due_timers_are_claimed_once_per_lease(setup: tuple) -> None:
    make, new_uow, _ = setup
    queue = make()
    await set_timers(new_uow, [Timer(f"t{n}", "test", str(n), at(n)) for n in range(5)])
    await queue.relay(now=at(0))
    assert await queue.next_due() == at(0)
    assert [t.key for t in await queue.claim(now=at(2), limit=10, lease_s=30)] == \
        ["t0", "t1", "t2"]
    assert await queue.claim(now=at(2.5), limit=10, lease_s=30) == []  # leased
    assert [t.key for t in await queue.claim(now=at(4), limit=10, lease_s=30)] == ["t3", "t4"]
    # nobody called done: after the lease the first three are handed out again
    again = await queue.claim(now=at(40), limit=10, lease_s=30)
    assert {t.key for t in again} == {"t0", "t1", "t2", "t3", "t4"}


async def test_moving_a_timer_later_and_cancelling(setup: tuple) -> None:
    make, new_uow, engine = setup
    queue = make()
    await set_timers(new_uow, [Timer("a", "test", "-", at(1)), Timer("b", "test", "-", at(1))])
    await set_timers(new_uow, [Timer("a", "test", "-", at(100))])  # same key: moved
    async with new_uow() as uow:
        await uow.timers.cancel(["b"])
        await uow.commit()
    await queue.relay(now=at(0))
    claimed = await queue.claim(now=at(5), limit=10, lease_s=30)
    done = await fire_timers(claimed, recording_registry(), new_uow, now=at(5))
    await queue.done([t.key for t in done])
    assert await fired(engine) == {}
    claimed = await queue.claim(now=at(100), limit=10, lease_s=30)
    await fire_timers(claimed, recording_registry(), new_uow, now=at(100))
    assert await fired(engine) == {"a": 1}


async def test_crash_after_claim_refires_and_crash_after_effect_does_not(
        setup: tuple) -> None:
    make, new_uow, engine = setup
    await set_timers(new_uow, [Timer("lost", "test", "-", at(1)),
                               Timer("half", "test", "-", at(1))])
    dying = make()
    await dying.relay(now=at(0))
    claimed = {t.key: t for t in await dying.claim(now=at(1), limit=10, lease_s=10)}
    # "half": the effect committed, then the worker died before done(); "lost": died at once
    await fire_timers([claimed["half"]], recording_registry(), new_uow, now=at(1))
    survivor = make()
    assert await survivor.claim(now=at(5), limit=10, lease_s=10) == []  # leases still held
    again = await survivor.claim(now=at(12), limit=10, lease_s=10)
    finished = await fire_timers(again, recording_registry(), new_uow, now=at(12))
    await survivor.done([t.key for t in finished])
    assert await fired(engine) == {"lost": 1, "half": 1}
    assert await survivor.claim(now=at(100), limit=10, lease_s=10) == []


async def test_racing_workers_fire_each_timer_once(setup: tuple) -> None:
    make, new_uow, engine = setup
    count = 300
    await set_timers(new_uow, [Timer(f"r{n:03d}", "test", "-", at(n % 7)) for n in range(count)])
    registry = recording_registry()

    async def worker() -> None:
        queue = make()
        for _ in range(200):
            await queue.relay(now=at(10))
            claimed = await queue.claim(now=at(10), limit=20, lease_s=0.5)
            if not claimed and await queue.next_due() is None:
                return
            finished = await fire_timers(claimed, registry, new_uow, now=at(10))
            await queue.done([t.key for t in finished])

    await asyncio.gather(*(worker() for _ in range(5)))
    counts = await fired(engine)
    assert len(counts) == count
    assert set(counts.values()) == {1}


async def test_a_kind_without_handler_is_dead_lettered_not_dropped(
        setup: tuple) -> None:
    make, new_uow, engine = setup
    await set_timers(new_uow, [Timer("odd", "nobody.handles", "x", at(0))])
    queue = make()
    await queue.relay(now=at(0))
    claimed = await queue.claim(now=at(1), limit=10, lease_s=10)
    assert await fire_timers(claimed, recording_registry(), new_uow, now=at(1)) == claimed
    async with engine.connect() as conn:
        reason = (await conn.execute(text(
            "SELECT reason FROM dead_letters WHERE source = 'timer:nobody.handles'"))).scalar()
    assert reason == "no handler for timer kind 'nobody.handles'"


async def test_a_timer_set_again_starts_afresh(new_uow: Callable[[], SqlUnitOfWork],
                                               engine: AsyncEngine) -> None:
    """Same key: the new deadline, no lease, not relayed, no failures; created_at kept."""
    await set_timers(new_uow, [Timer("a", "test", "1", at(1))])
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE timers SET claimed_until = created_at, relayed = true, "
                                "failures = 3"))
    async with new_uow() as uow:
        await uow.timers.set([Timer("a", "escalate", "2", at(100))], at=at(50))
        await uow.commit()
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT kind, ref, claimed_until, relayed, failures "
                                       "FROM timers"))).one()
    assert tuple(row) == ("escalate", "2", None, False, 0)
    async with new_uow() as uow:
        assert await uow.timers.get("a") == Timer("a", "escalate", "2", at(100))
