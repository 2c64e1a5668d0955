"""Fixed-window rate limits per key (customer queries per sender, last-4 proof attempts).

A hit names several limits, counted in order; the first that is over stops the count (a
query refused for being too frequent does not also spend a proof attempt). A limit is
``(key, limit, window_s)`` (``handlers.tracking_ports.Limit``).

``RedisRateLimiter``: one Lua script (``EVALSHA``, one round trip whatever the number of
limits, atomic), shared by every process; each counter expires one second after its window.
``MemoryRateLimiter`` is the in-process twin for the embedded mode (one process) and tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from redis.asyncio import Redis

_HIT = """
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[2 * i]) end
  if count > tonumber(ARGV[2 * i - 1]) then return 0 end
end
return 1
"""


class RedisRateLimiter:
    def __init__(self, redis: Redis, *, prefix: str = "orderbot:rl",
                 clock: Callable[[], float] = time.time) -> None:
        self._prefix, self._clock = prefix, clock
        self._script = redis.register_script(_HIT)

    async def hit(self, limits: Sequence[tuple[str, int, int]]) -> bool:
        if not limits:
            return True
        now = self._clock()
        keys = [f"{self._prefix}:{key}:{int(now // window_s)}" for key, _, window_s in limits]
        args = [n for _, limit, window_s in limits for n in (limit, window_s + 1)]
        return int(await self._script(keys=keys, args=args)) == 1


class MemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.time, max_keys: int = 100_000) -> None:
        self._clock, self._max = clock, max_keys
        self._counts: dict[tuple[str, int, int], int] = {}

    async def hit(self, limits: Sequence[tuple[str, int, int]]) -> bool:
        now = self._clock()
        if len(self._counts) >= self._max:
            self._counts = {k: v for k, v in self._counts.items() if k[2] >= now // k[1]}
        for key, limit, window_s in limits:
            counter = (key, window_s, int(now // window_s))
            self._counts[counter] = count = self._counts.get(counter, 0) + 1
            if count > limit:
                return False
        return True
