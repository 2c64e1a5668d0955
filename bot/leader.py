"""One job in one process of many: whoever holds a lock (``storage.locks``) runs it.

Some things must exist once per deployment, not once per process: the WeCom smart robot keeps
exactly one live connection per bot (a second one kicks the first). ``lead`` tries the lock
every TTL/3; the holder starts the job and extends the lock every TTL/3. When an extension
fails (the lock expired and may be someone else's, or Redis is unreachable) the job is stopped
at once and the process stands by again; on shutdown the job is stopped and the lock released,
so a standby takes over within TTL/3. A job that ends by itself (the robot was kicked by a
connection outside this deployment) leaves the lock held and idle: no standby fights for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from storage.locks import Lock

log = logging.getLogger("orderbot.leader")

STOP_GRACE_S = 10.0


async def lead(lock: Lock, job: Callable[[], Awaitable[None]],
               stop: Callable[[], Awaitable[None]], *, name: str) -> None:
    """Run ``job`` whenever this process holds ``lock``; returns only when cancelled."""
    every = lock.ttl_ms / 3000
    while True:
        if await _attempt(lock.acquire, name, "acquire"):
            log.info("%s: this process is the leader", name)
            try:
                await _hold(lock, job, stop, every, name)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await lock.release()
            log.info("%s: standing by", name)
        await asyncio.sleep(every)


async def _hold(lock: Lock, job: Callable[[], Awaitable[None]],
                stop: Callable[[], Awaitable[None]], every: float, name: str) -> None:
    task: asyncio.Task[Any] = asyncio.ensure_future(job())
    try:
        while True:
            if task.done():
                if not task.cancelled() and task.exception() is not None:
                    log.error("%s failed; giving the lock back", name,
                              exc_info=task.exception())
                    return
                await asyncio.sleep(every)  # ended by itself: hold the lock, idle
            else:
                await asyncio.wait({task}, timeout=every)
            if not await _attempt(lock.extend, name, "extend"):
                log.warning("%s: lock lost; stopping", name)
                return
    finally:
        await _stop(task, stop)


async def _stop(task: asyncio.Task[Any], stop: Callable[[], Awaitable[None]]) -> None:
    if not task.done():
        with contextlib.suppress(Exception):
            await stop()
        await asyncio.wait({task}, timeout=STOP_GRACE_S)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _attempt(call: Callable[[], Awaitable[bool]], name: str, what: str) -> bool:
    try:
        return await call()
    except (RedisError, OSError) as error:
        log.warning("%s: lock %s failed (%s)", name, what, type(error).__name__)
        return False
