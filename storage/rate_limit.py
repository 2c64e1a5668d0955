"""Fixed-window rate limits per key (customer queries per sender, wrong last-4 answers).

``RedisRateLimiter``: ``INCR`` + ``EXPIRE`` on the first hit of a window, one round trip
(a pipeline), shared by every process. ``MemoryRateLimiter`` is the in-process twin for the
embedded mode (one process) and tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.asyncio import Redis


class RedisRateLimiter:
    def __init__(self, redis: Redis, *, prefix: str = "orderbot:rl") -> None:
        self._redis, self._prefix = redis, prefix

    async def hit(self, key: str, *, limit: int, window_s: int) -> bool:
        window = int(time.time() // window_s)
        name = f"{self._prefix}:{key}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_s + 1, nx=True)
            count, _ = await pipe.execute()
        return int(count) <= limit


class MemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.time, max_keys: int = 100_000) -> None:
        self._clock, self._max = clock, max_keys
        self._counts: dict[tuple[str, int, int], int] = {}

    async def hit(self, key: str, *, limit: int, window_s: int) -> bool:
        window = int(self._clock() // window_s)
        if len(self._counts) >= self._max:
            now = self._clock()
            self._counts = {k: v for k, v in self._counts.items() if k[2] >= now // k[1]}
        count = self._counts.get((key, window_s, window), 0) + 1
        self._counts[(key, window_s, window)] = count
        return count <= limit
