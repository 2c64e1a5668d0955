"""The rate-limit contract (customer queries per sender, last-4 proof attempts), on the
in-process twin and on a real Redis: fixed windows per key, several limits counted in order
in one call, the first one over stops the count."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import pytest

from handlers.tracking_ports import Limit
from storage.rate_limit import MemoryRateLimiter, RedisRateLimiter
from tests.redis_support import redis_for_test


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # a minute boundary (divisible by 60 and 3600)

    def __call__(self) -> float:
        return self.now


class Limiter(Protocol):
    async def hit(self, limits: Sequence[tuple[str, int, int]]) -> bool: ...


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[Limiter]:
    if request.param == "memory":
        yield MemoryRateLimiter(clock)
    else:
        async with redis_for_test() as (client, prefix):
            yield RedisRateLimiter(client, prefix=prefix, clock=clock)


async def test_a_key_gets_its_limit_per_window(limiter: Limiter, clock: Clock) -> None:
    query = [Limit("q:http:1.2.3.4", 3, 60)]
    assert [await limiter.hit(query) for _ in range(4)] == [True, True, True, False]
    assert await limiter.hit([Limit("q:http:5.6.7.8", 3, 60)]) is True  # per sender
    clock.now += 59
    assert await limiter.hit(query) is False  # same window
    clock.now += 1
    assert await limiter.hit(query) is True  # the next window starts afresh


async def test_the_first_limit_over_stops_the_count(limiter: Limiter, clock: Clock) -> None:
    """A query refused as too frequent does not spend a proof attempt."""
    both = [Limit("q:s", 2, 60), Limit("proof:s", 3, 3600)]
    assert [await limiter.hit(both) for _ in range(5)] == [True, True, False, False, False]
    clock.now += 60  # new query window, same proof window: 2 proofs spent so far
    assert [await limiter.hit(both) for _ in range(2)] == [True, False]  # 3rd proof, then over
    assert await limiter.hit([Limit("q:s", 2, 60)]) is False  # that query itself counted
    clock.now += 60
    assert await limiter.hit([Limit("q:s", 2, 60)]) is True  # queries without proof still go


async def test_no_limits_is_always_allowed(limiter: Limiter) -> None:
    assert await limiter.hit([]) is True


async def test_redis_counters_expire_after_their_window(clock: Clock) -> None:
    async with redis_for_test() as (client, prefix):
        limiter = RedisRateLimiter(client, prefix=prefix, clock=clock)
        assert await limiter.hit([Limit("q:s", 5, 60), Limit("proof:s", 5, 3600)])
        keys = [f"{prefix}:proof:s:{int(clock.now // 3600)}",
                f"{prefix}:q:s:{int(clock.now // 60)}"]
        ttls = [await client.ttl(k) for k in keys]  # -2 if a key is missing
        assert 3595 <= ttls[0] <= 3601 and 55 <= ttls[1] <= 61
        written = sorted([k.decode() async for k in client.scan_iter(match=f"{prefix}:*")])
        assert written == keys  # nothing else written
