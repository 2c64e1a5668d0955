"""What only the SQL inbox has: dedup memory with a TTL and ``prune``, ids never reused.
Run on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.inbox import Envelope
from storage.db import create_engine
from storage.inbox.sql import SqlInbox

T = datetime(2026, 1, 2, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def sql_engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM inbox"))
        await conn.execute(text("DELETE FROM inbox_seen"))
    yield engine
    await engine.dispose()


def envelope(key: str) -> Envelope:
    return Envelope(kind="ingest_order", dedup_key=key, payload={"k": key}, received_at=T)


async def test_dedup_memory_expires_and_prune_forgets(sql_engine: AsyncEngine) -> None:
    clock = Clock()
    inbox = SqlInbox(sql_engine, dedup_ttl_s=3600, clock=clock)
    assert await inbox.put(envelope("a")) is True
    await inbox.ack(await inbox.take("w", 1, 0))
    clock.now += timedelta(seconds=3599)
    assert await inbox.put(envelope("a")) is False
    assert await inbox.prune() == 0
    clock.now += timedelta(seconds=1)
    assert await inbox.put(envelope("a")) is True  # expired memory is renewed, not a duplicate
    assert await inbox.put(envelope("b")) is True
    clock.now += timedelta(seconds=3600)
    assert await inbox.prune() == 2
    assert await inbox.size() == 2


async def test_a_message_id_is_never_reused(sql_engine: AsyncEngine) -> None:
    inbox = SqlInbox(sql_engine)
    await inbox.put(envelope("a"))
    [first] = await inbox.take("w", 1, 0)
    await inbox.ack([first])
    await inbox.put(envelope("b"))
    [second] = await inbox.take("w", 1, 0)
    assert int(second.id) > int(first.id)
    await inbox.ack([first])  # a late ack of the old id leaves the new message alone
    assert await inbox.size() == 1


async def test_reclaim_uses_the_injected_clock(sql_engine: AsyncEngine) -> None:
    clock = Clock()
    inbox = SqlInbox(sql_engine, clock=clock)
    await inbox.put(envelope("a"))
    await inbox.take("dead", 1, 0)
    clock.now += timedelta(seconds=29)
    assert await inbox.reclaim("w2", 30_000, 10) == []
    clock.now += timedelta(seconds=1)
    assert [e.attempts for e in await inbox.reclaim("w2", 30_000, 10)] == [2]
