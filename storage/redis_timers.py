"""The production timer queue: a Redis sorted set of deadlines, fed from the SQL record.

Timers are written to SQL (``storage.timers.SqlTimers``) in the transaction of the change that
sets them; ``relay`` copies rows not yet relayed into ``<prefix>:due`` (ZADD, score = due time
in ms) and marks them, so a crash between commit and ZADD only delays a timer until the next
relay pass, never loses it. ``claim`` is one Lua script: it moves due members to
``<prefix>:processing`` with score = lease end, and takes back members whose lease expired (a
worker died between claim and done), so every due timer is handed to exactly one worker at a
time and a crash re-fires instead of losing. ``done`` drops the lease. The effect itself is
made once by the SQL take in the firing transaction (see ``storage.timers``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.timers import Timer
from storage.timer_tables import TimerRow
from storage.timers import SqlTimerQueue

timers_t = TimerRow.__table__  # type: ignore[attr-defined]

# KEYS: due, processing. ARGV: now ms, lease end ms, limit.
_CLAIM = """
local taken = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local left = tonumber(ARGV[3]) - #taken
if left > 0 then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES',
                         'LIMIT', 0, left)
  for i = 1, #due, 2 do
    redis.call('ZREM', KEYS[1], due[i])
    taken[#taken + 1] = due[i]
  end
end
for _, member in ipairs(taken) do
  redis.call('ZADD', KEYS[2], ARGV[2], member)
end
return taken
"""
_RELAY_BATCH = 2000
_STALE_S = 60.0  # relayed yet still pending this long after due: Redis lost it, relay again


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


class RedisTimerQueue:
    def __init__(self, redis: Redis, engine: AsyncEngine, *, prefix: str) -> None:
        self._redis = redis
        self._engine = engine
        self._due = f"{prefix}:due"
        self._processing = f"{prefix}:processing"
        self._claim = redis.register_script(_CLAIM)
        self._sql = SqlTimerQueue(engine)

    async def claim(self, *, now: datetime, limit: int, lease_s: float) -> list[Timer]:
        """Keys of claimed timers with their SQL record (missing record: cancelled or
        fired already; it is dropped from Redis at once)."""
        until = now + timedelta(seconds=lease_s)
        raw = await self._claim(keys=[self._due, self._processing],
                                args=[_ms(now), _ms(until), limit])
        keys = [k.decode() if isinstance(k, bytes) else str(k) for k in raw]
        if not keys:
            return []
        found = await self._records(keys)
        gone = [k for k in keys if k not in found]
        if gone:
            await self._redis.zrem(self._processing, *gone)
        return sorted(found.values(), key=lambda t: t.due_at)

    async def _records(self, keys: list[str]) -> dict[str, Timer]:
        query = select(timers_t.c.key, timers_t.c.kind, timers_t.c.ref, timers_t.c.due_at) \
            .where(timers_t.c.key.in_(keys))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {r.key: Timer(r.key, r.kind, r.ref, r.due_at) for r in rows}

    async def next_due(self) -> datetime | None:
        """The earliest of the next deadline and the next lease to expire."""
        firsts = [await self._redis.zrange(name, 0, 0, withscores=True)
                  for name in (self._due, self._processing)]
        scores = [float(entries[0][1]) for entries in firsts if entries]
        if not scores:
            return None
        return datetime.fromtimestamp(min(scores) / 1000, UTC)

    async def done(self, keys: Sequence[str]) -> None:
        if keys:
            await self._redis.zrem(self._processing, *keys)

    async def relay(self, *, now: datetime) -> int:
        """Copy timers set in SQL since the last pass to the sorted set; returns how many."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(timers_t).where(timers_t.c.relayed.is_(True),
                                       timers_t.c.due_at < now - timedelta(seconds=_STALE_S))
                .values(relayed=False))
            rows = (await conn.execute(
                select(timers_t.c.key, timers_t.c.due_at).where(timers_t.c.relayed.is_(False))
                .order_by(timers_t.c.due_at).limit(_RELAY_BATCH))).all()
            if not rows:
                return 0
            await self._redis.zadd(self._due, {r.key: _ms(r.due_at) for r in rows})
            await conn.execute(
                update(timers_t).where(timers_t.c.key == bindparam("b_key"),
                                       timers_t.c.due_at == bindparam("b_due"))
                .values(relayed=True),
                [{"b_key": r.key, "b_due": r.due_at} for r in rows])
        return len(rows)

    async def pending(self) -> int:
        return await self._sql.pending()

    async def sizes(self) -> dict[str, Any]:
        return {"due": await self._redis.zcard(self._due),
                "processing": await self._redis.zcard(self._processing)}
