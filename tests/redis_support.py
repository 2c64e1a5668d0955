"""The real Redis on 127.0.0.1:6379 for contract and e2e tests: fail (never skip) if it is
down, and give each test its own key prefix, deleted afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

REDIS_URL = os.environ.get("ORDERBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@asynccontextmanager
async def redis_for_test() -> AsyncIterator[tuple[Redis, str]]:
    """A client and a fresh ``test:<uuid>`` prefix; every key under it is deleted at the end."""
    client = Redis.from_url(REDIS_URL, socket_timeout=10)
    try:
        await client.ping()
    except (OSError, RedisError) as error:
        await client.aclose()
        raise RuntimeError(f"Redis is required at {REDIS_URL} ({error}); run .ci/run or "
                           "start redis-server") from error
    prefix = f"test:{uuid.uuid4().hex}"
    try:
        yield client, prefix
    finally:
        await _delete_matching(client, f"{prefix}*")
        await client.aclose()


async def forget_keys(pattern: str) -> None:
    """Delete every key matching ``pattern`` (a test's or a benchmark's own prefix)."""
    client = Redis.from_url(REDIS_URL)
    try:
        await _delete_matching(client, pattern)
    finally:
        await client.aclose()


async def _delete_matching(client: Redis, pattern: str) -> None:
    keys = [key async for key in client.scan_iter(match=pattern, count=1000)]
    if keys:
        await client.delete(*keys)
