"""The production timer queue: a Redis sorted set of deadlines, fed from the SQL record.

Timers are written to SQL (``storage.timers.SqlTimers``) in the transaction of the change that
sets them; ``relay`` copies rows not yet relayed into ``<prefix>:due`` (ZADD, score = due time
in ms) and marks them, so a crash between commit and ZADD only delays a timer until the next
relay pass, never loses it. Relays in several processes take disjoint rows (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL; SQLite has one writer), earliest deadline first, so the relay keeps
ahead of the deadlines instead of two processes copying the same rows. ``claim`` is one Lua
script: it moves due members to ``<prefix>:processing`` with score = lease end, and takes back
members whose lease expired (a worker died between claim and done), so every due timer is
handed to exactly one worker at a time and a crash re-fires instead of losing. ``done`` drops
the lease. The effect itself is made once by the SQL take in the firing transaction (see
``storage.timers``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import false, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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
_STALE_EVERY_S = 10.0  # how often a relay looks for such timers


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
        self._stale_checked: datetime | None = None

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
        """The earliest of the next deadline and the next lease to expire (one round trip)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrange(self._due, 0, 0, withscores=True)
            pipe.zrange(self._processing, 0, 0, withscores=True)
            firsts = await pipe.execute()
        scores = [float(entries[0][1]) for entries in firsts if entries]
        if not scores:
            return None
        return datetime.fromtimestamp(min(scores) / 1000, UTC)

    async def done(self, keys: Sequence[str]) -> None:
        if keys:
            await self._redis.zrem(self._processing, *keys)

    async def relay(self, *, now: datetime) -> int:
        """Copy up to ``_RELAY_BATCH`` timers set in SQL since the last pass to the sorted set,
        earliest first; returns how many (a full batch: call again)."""
        async with self._engine.begin() as conn:
            await self._unrelay_stale(conn, now)
            pick = (select(timers_t.c.key, timers_t.c.due_at)
                    .where(timers_t.c.relayed == false())
                    .order_by(timers_t.c.due_at).limit(_RELAY_BATCH))
            if conn.dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE, one writer
                pick = pick.with_for_update(skip_locked=True)
            rows = (await conn.execute(pick)).all()
            if not rows:
                return 0
            await self._redis.zadd(self._due, {r.key: _ms(r.due_at) for r in rows})
            # the rows are locked: none was moved or cancelled since the SELECT
            await conn.execute(update(timers_t).where(timers_t.c.key.in_([r.key for r in rows]))
                               .values(relayed=True))
        return len(rows)

    async def _unrelay_stale(self, conn: AsyncConnection, now: datetime) -> None:
        """Every ``_STALE_EVERY_S``: timers relayed long ago yet still pending are relayed
        again (Redis lost them: a flush, a failover without persistence)."""
        if self._stale_checked and now - self._stale_checked < timedelta(seconds=_STALE_EVERY_S):
            return
        self._stale_checked = now
        await conn.execute(
            update(timers_t).where(timers_t.c.relayed == true(),
                                   timers_t.c.due_at < now - timedelta(seconds=_STALE_S))
            .values(relayed=False))

    async def pending(self) -> int:
        return await self._sql.pending()

    async def sizes(self) -> dict[str, Any]:
        return {"due": await self._redis.zcard(self._due),
                "processing": await self._redis.zcard(self._processing)}
