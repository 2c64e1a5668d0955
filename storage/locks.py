"""Locks for singleton jobs (one order poller per shop across all workers).

``RedisLocks``: ``SET <prefix>:<name> <token> NX PX ttl``; release and extend are Lua
compare-and-act on the token, so a holder whose lock expired and was taken over can never
delete or prolong the new holder's lock. ``MemoryLocks`` is the in-process twin (embedded
mode runs one process, and unit tests). A lock is a lease: hold it with ``hold()``, which
extends it in the background every third of its TTL, and keep the job's work idempotent,
because a process that stalls longer than the TTL loses the lock without noticing at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Protocol

from redis.asyncio import Redis

log = logging.getLogger("orderbot.locks")

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class Lock(Protocol):
    name: str
    ttl_ms: int

    async def acquire(self) -> bool: ...

    async def extend(self, ttl_ms: int | None = None) -> bool: ...

    async def release(self) -> bool: ...


class RedisLock:
    """One named lock; ``acquire`` never waits (a singleton job just skips its turn)."""

    def __init__(self, locks: RedisLocks, name: str, ttl_ms: int) -> None:
        self.name, self.ttl_ms = name, ttl_ms
        self._locks = locks
        self._key = f"{locks.prefix}:{name}"
        self._token = ""

    async def acquire(self) -> bool:
        token = secrets.token_hex(16)
        if await self._locks.redis.set(self._key, token, nx=True, px=self.ttl_ms):
            self._token = token
            return True
        return False

    async def extend(self, ttl_ms: int | None = None) -> bool:
        ttl = ttl_ms or self.ttl_ms
        return bool(await self._locks.extend_script(keys=[self._key], args=[self._token, ttl]))

    async def release(self) -> bool:
        token, self._token = self._token, ""
        return bool(await self._locks.release_script(keys=[self._key], args=[token]))


class RedisLocks:
    """Factory of ``RedisLock``s sharing a client and a key prefix."""

    def __init__(self, redis: Redis, *, prefix: str = "orderbot:lock") -> None:
        self.redis, self.prefix = redis, prefix
        self.release_script = redis.register_script(_RELEASE)
        self.extend_script = redis.register_script(_EXTEND)

    def lock(self, name: str, ttl_ms: int) -> RedisLock:
        return RedisLock(self, name, ttl_ms)


class MemoryLock:
    def __init__(self, locks: MemoryLocks, name: str, ttl_ms: int) -> None:
        self.name, self.ttl_ms = name, ttl_ms
        self._locks = locks
        self._token = ""

    async def acquire(self) -> bool:
        token = secrets.token_hex(16)
        if self._locks.holder(self.name) is not None:
            return False
        self._locks.held[self.name] = (token, self._locks.clock() + self.ttl_ms / 1000)
        self._token = token
        return True

    async def extend(self, ttl_ms: int | None = None) -> bool:
        if not self._token or self._locks.holder(self.name) != self._token:
            return False
        expiry = self._locks.clock() + (ttl_ms or self.ttl_ms) / 1000
        self._locks.held[self.name] = (self._token, expiry)
        return True

    async def release(self) -> bool:
        token, self._token = self._token, ""
        if not token or self._locks.holder(self.name) != token:
            return False
        del self._locks.held[self.name]
        return True


class MemoryLocks:
    """The in-process twin: same semantics, expiry by an injectable monotonic clock."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.held: dict[str, tuple[str, float]] = {}

    def lock(self, name: str, ttl_ms: int) -> MemoryLock:
        return MemoryLock(self, name, ttl_ms)

    def holder(self, name: str) -> str | None:
        token, expiry = self.held.get(name, ("", 0.0))
        return token if token and expiry > self.clock() else None


@contextlib.asynccontextmanager
async def hold(lock: Lock) -> AsyncIterator[bool]:
    """``async with hold(lock) as mine:`` - ``mine`` says whether we got it; while inside, the
    lock is extended every TTL/3; on exit it is released."""
    if not await lock.acquire():
        yield False
        return
    keeper = asyncio.create_task(_keep(lock))
    try:
        yield True
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        await lock.release()


async def _keep(lock: Lock) -> None:
    while True:
        await asyncio.sleep(lock.ttl_ms / 3000)
        if not await lock.extend():
            log.warning("lock %s was lost (expired and taken over); the job keeps running",
                        lock.name)
            return


async def deployment_locks(stack: AsyncExitStack, redis_url: str | None, prefix: str, *,
                           max_connections: int) -> RedisLocks | MemoryLocks:
    """Locks every process of the deployment shares: on Redis (its own small client, closed
    with ``stack``) when the inbox is on Redis, in-process otherwise (one process embedded)."""
    if redis_url is None:
        return MemoryLocks()
    from storage.inbox.wiring import open_redis  # the one way a client is configured

    redis = await stack.enter_async_context(open_redis(redis_url,
                                                       max_connections=max_connections))
    return RedisLocks(redis, prefix=f"{prefix}:lock")
