"""The singleton-job lock contract, on the in-process twin and on a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol

import pytest

from storage.locks import Lock, MemoryLocks, RedisLocks, hold
from tests.redis_support import redis_for_test


class Locks(Protocol):
    def lock(self, name: str, ttl_ms: int) -> Lock: ...


@pytest.fixture(params=["memory", "redis"])
async def locks(request: pytest.FixtureRequest) -> AsyncIterator[Locks]:
    if request.param == "memory":
        yield MemoryLocks()
    else:
        async with redis_for_test() as (client, prefix):
            yield RedisLocks(client, prefix=prefix)


async def test_one_holder_at_a_time(locks: Locks) -> None:
    a, b = locks.lock("poll:taobao:shop1", 5_000), locks.lock("poll:taobao:shop1", 5_000)
    assert await a.acquire() is True
    assert await b.acquire() is False
    assert await locks.lock("poll:taobao:shop2", 5_000).acquire() is True  # other name
    assert await a.release() is True
    assert await b.acquire() is True
    assert await a.release() is False  # not the holder any more


async def test_an_expired_holder_cannot_touch_the_new_holders_lock(locks: Locks) -> None:
    a, b = locks.lock("job", 50), locks.lock("job", 5_000)
    assert await a.acquire()
    await asyncio.sleep(0.08)
    assert await b.acquire() is True
    assert await a.extend() is False
    assert await a.release() is False
    assert await locks.lock("job", 5_000).acquire() is False  # b still holds it
    assert await b.release() is True


async def test_extend_keeps_the_lock(locks: Locks) -> None:
    a, b = locks.lock("job", 80), locks.lock("job", 80)
    assert await a.acquire()
    await asyncio.sleep(0.04)
    assert await a.extend(1_000) is True
    await asyncio.sleep(0.08)
    assert await b.acquire() is False


async def test_hold_extends_while_inside_and_releases_on_exit(locks: Locks) -> None:
    async with hold(locks.lock("job", 90)) as mine:
        assert mine is True
        await asyncio.sleep(0.2)  # more than twice the TTL: the keeper extended it
        async with hold(locks.lock("job", 90)) as other:
            assert other is False
    assert await locks.lock("job", 90).acquire() is True


async def test_concurrent_acquirers_get_one_winner(locks: Locks) -> None:
    contenders = [locks.lock("job", 5_000) for _ in range(10)]
    results = await asyncio.gather(*(lock.acquire() for lock in contenders))
    assert results.count(True) == 1
