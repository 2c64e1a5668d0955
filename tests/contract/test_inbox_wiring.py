"""``open_inbox`` builds each configured backend ready for use (real servers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from core.inbox import Envelope
from storage.db import create_engine
from storage.inbox.wiring import InboxSettings, open_inbox, open_redis
from tests.redis_support import REDIS_URL, redis_for_test

E = Envelope(kind="ingest_order", dedup_key="w:1", payload={"n": 1}, received_at=datetime.now(UTC))


async def test_redis_backend_on_its_own_client() -> None:
    async with redis_for_test() as (client, prefix):
        settings = InboxSettings(backend="redis", redis_url=REDIS_URL, key_prefix=prefix)
        async with open_inbox(settings) as inbox:
            assert await inbox.put(E) is True
            assert [e.dedup_key for e in await inbox.take("w", 10, 0)] == ["w:1"]
        assert await client.exists(f"{prefix}:stream") == 1


async def test_sql_backend_needs_the_engine(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="engine"):
        async with open_inbox(InboxSettings()):
            pass
    engine = create_engine(sqlite_url)
    async with open_inbox(InboxSettings(), engine=engine) as inbox:
        assert await inbox.put(E) is True
        assert await inbox.size() == 1
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM inbox"))).scalar_one() == 1
    await engine.dispose()


async def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="kafka"):
        async with open_inbox(InboxSettings(backend="kafka")):
            pass


async def test_open_redis_pings_and_closes() -> None:
    async with open_redis(REDIS_URL, max_connections=4) as client:
        assert await client.ping() is True
