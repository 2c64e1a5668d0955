"""What the composition root needs to build an inbox from config: the settings value, a Redis
client with a sensible pool, and one context manager that opens the configured backend.
``bot/app.py`` wraps these in its ``cleanup_ctx`` functions (storage knows nothing of aiohttp).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.inbox.memory import MemoryInbox
from storage.inbox.redis_streams import RedisStreamsInbox
from storage.inbox.sql import SqlInbox

BACKENDS = ("sql", "redis", "memory")
AnyInbox = SqlInbox | RedisStreamsInbox | MemoryInbox


@dataclass(frozen=True, slots=True)
class InboxSettings:
    """Config ``[inbox]``. ``sql`` (embedded default: the service database), ``redis``
    (production, several workers), ``memory`` (tests only: not durable)."""

    backend: str = "sql"
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "orderbot:inbox"
    group: str = "workers"
    dedup_ttl_s: int = 3 * 24 * 3600
    maxlen: int = 0
    poll_ms: int = 100


@asynccontextmanager
async def open_redis(
    url: str, *, max_connections: int = 200, socket_timeout_s: float = 10.0,
    pool_timeout_s: float = 2.0,
) -> AsyncIterator[Redis]:  # fmt: skip
    """One shared client. The pool blocks (up to ``pool_timeout_s``) instead of failing when
    all connections are busy, so a webhook burst waits a moment rather than answering 503.
    ``socket_timeout_s`` must exceed any ``take(block_ms=...)``."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=pool_timeout_s,
        socket_timeout=socket_timeout_s, health_check_interval=30,
    )  # fmt: skip
    client = Redis(connection_pool=pool)
    try:
        await client.ping()
        yield client
    finally:
        await client.aclose()
        await pool.disconnect()


@asynccontextmanager
async def open_inbox(
    settings: InboxSettings, *, engine: AsyncEngine | None = None, redis: Redis | None = None,
) -> AsyncIterator[AnyInbox]:  # fmt: skip
    """The configured backend, ready to use. ``sql`` needs ``engine`` (migrated to 0002+);
    ``redis`` uses ``redis`` when given (shared with locks) or opens its own client."""
    if settings.backend == "memory":
        yield MemoryInbox(dedup_ttl_s=settings.dedup_ttl_s)
    elif settings.backend == "sql":
        if engine is None:
            raise ValueError("the sql inbox needs the database engine")
        yield SqlInbox(engine, dedup_ttl_s=settings.dedup_ttl_s, poll_s=settings.poll_ms / 1000)
    elif settings.backend == "redis":
        async with _client(settings, redis) as client:
            inbox = RedisStreamsInbox(client, prefix=settings.key_prefix, group=settings.group,
                                      dedup_ttl_s=settings.dedup_ttl_s, maxlen=settings.maxlen)
            await inbox.setup()
            yield inbox
    else:
        raise ValueError(f"inbox backend {settings.backend!r}: expected one of {BACKENDS}")


@asynccontextmanager
async def _client(settings: InboxSettings, shared: Redis | None) -> AsyncIterator[Redis]:
    if shared is not None:
        yield shared
    else:
        async with open_redis(settings.redis_url) as client:
            yield client
