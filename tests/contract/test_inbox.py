"""The inbox contract, one suite over every backend: the in-process twin, SQL on SQLite and
PostgreSQL, and Redis Streams (a real server on 127.0.0.1:6379; the test fails if it is down).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

import pytest
from sqlalchemy import text

from core.inbox import Envelope
from handlers.ports import Inbox, InboxConsumer
from storage.db import create_engine
from storage.inbox.memory import MemoryInbox
from storage.inbox.redis_streams import RedisStreamsInbox
from storage.inbox.sql import SqlInbox
from tests.redis_support import redis_for_test

BACKENDS = ["memory", "sqlite", "postgres", "redis"]
T = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
IDLE_MS = 60


class Queue(Inbox, InboxConsumer, Protocol):
    """Both ports at once, as every backend provides them."""


def envelope(n: int, **payload: object) -> Envelope:
    return Envelope(kind="ingest_order", dedup_key=f"tb:{n}", payload=payload or {"n": n},
                    received_at=T)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> tuple[str, str]:
    """The backend name and, for SQL, its migrated database (resolved outside the loop)."""
    if request.param == "sqlite":
        return request.param, str(request.getfixturevalue("sqlite_url"))
    if request.param == "postgres":
        return request.param, str(request.getfixturevalue("pg_url"))
    return request.param, ""


@pytest.fixture
async def inbox(backend: tuple[str, str]) -> AsyncIterator[Queue]:
    name, url = backend
    if name == "memory":
        yield MemoryInbox()
    elif name == "redis":
        async with redis_for_test() as (client, prefix):
            inbox = RedisStreamsInbox(client, prefix=prefix)
            await inbox.setup()
            yield inbox
    else:
        engine = create_engine(url)
        async with engine.begin() as conn:  # the PostgreSQL database is shared by the session
            await conn.execute(text("DELETE FROM inbox"))
            await conn.execute(text("DELETE FROM inbox_seen"))
        yield SqlInbox(engine, poll_s=0.02)
        await engine.dispose()


async def put_all(inbox: Queue, *envelopes: Envelope) -> list[bool]:
    return [await inbox.put(e) for e in envelopes]


async def test_take_is_fifo_and_ack_removes(inbox: Queue) -> None:
    assert await put_all(inbox, *(envelope(n) for n in range(5))) == [True] * 5
    first = await inbox.take("w1", 2, 0)
    rest = await inbox.take("w1", 10, 0)
    taken = first + rest
    assert [e.payload["n"] for e in taken] == [0, 1, 2, 3, 4]
    assert [e.attempts for e in taken] == [1] * 5
    assert len({e.id for e in taken}) == 5 and all(e.id for e in taken)
    assert (await inbox.size(), await inbox.pending_count()) == (5, 5)
    await inbox.ack(first)
    assert (await inbox.size(), await inbox.pending_count()) == (3, 3)
    await inbox.ack(rest)
    await inbox.ack(rest)  # twice is harmless
    assert (await inbox.size(), await inbox.pending_count()) == (0, 0)
    assert await inbox.take("w1", 10, 0) == []


async def test_a_dedup_key_is_queued_once_even_after_ack(inbox: Queue) -> None:
    assert await put_all(inbox, envelope(1), envelope(1, other="body")) == [True, False]
    assert await inbox.size() == 1
    taken = await inbox.take("w1", 10, 0)
    assert [e.payload for e in taken] == [{"n": 1}]
    await inbox.ack(taken)
    assert await inbox.put(envelope(1)) is False
    assert await inbox.size() == 0
    assert await inbox.take("w1", 10, 0) == []


async def test_unacked_work_is_reclaimed_by_another_consumer(inbox: Queue) -> None:
    await put_all(inbox, *(envelope(n) for n in range(3)))
    taken = await inbox.take("dead", 10, 0)
    assert await inbox.reclaim("w2", 60_000, 10) == []  # not idle long enough yet
    await asyncio.sleep(IDLE_MS * 1.5 / 1000)
    reclaimed = await inbox.reclaim("w2", IDLE_MS, 10)
    assert reclaimed == [replace(e, attempts=2) for e in taken]
    assert [e.id for e in reclaimed] == [e.id for e in taken]
    assert await inbox.take("w2", 10, 0) == []  # reclaimed work is not new work
    assert await inbox.reclaim("w3", IDLE_MS, 10) == []  # w2 just got it: not idle
    assert await inbox.pending_count() == 3
    await inbox.ack(reclaimed)
    assert (await inbox.size(), await inbox.pending_count()) == (0, 0)


async def test_reclaim_counts_every_delivery(inbox: Queue) -> None:
    await inbox.put(envelope(1))
    await inbox.take("w1", 1, 0)
    for attempts in (2, 3):
        await asyncio.sleep(IDLE_MS * 1.5 / 1000)
        assert [e.attempts for e in await inbox.reclaim("w2", IDLE_MS, 1)] == [attempts]


async def test_reclaim_respects_count_and_order(inbox: Queue) -> None:
    await put_all(inbox, *(envelope(n) for n in range(5)))
    await inbox.take("dead", 5, 0)
    await asyncio.sleep(IDLE_MS * 1.5 / 1000)
    first = await inbox.reclaim("w2", IDLE_MS, 2)
    second = await inbox.reclaim("w2", IDLE_MS, 10)
    assert [e.payload["n"] for e in first + second] == [0, 1, 2, 3, 4]


async def test_concurrent_consumers_never_share_a_message(inbox: Queue) -> None:
    await put_all(inbox, *(envelope(n) for n in range(120)))

    async def drain(name: str) -> list[str]:
        got: list[str] = []
        while batch := await inbox.take(name, 7, 0):
            got += [e.dedup_key for e in batch]
            await asyncio.sleep(0)
        return got

    results = await asyncio.gather(*(drain(f"w{i}") for i in range(4)))
    everything = [key for result in results for key in result]
    assert sorted(everything) == sorted(f"tb:{n}" for n in range(120))


async def test_concurrent_reclaims_never_share_a_message(inbox: Queue) -> None:
    await put_all(inbox, *(envelope(n) for n in range(40)))
    await inbox.take("dead", 40, 0)
    await asyncio.sleep(IDLE_MS * 1.5 / 1000)
    results = await asyncio.gather(*(inbox.reclaim(f"w{i}", IDLE_MS, 40) for i in range(4)))
    everything = [e.dedup_key for result in results for e in result]
    assert sorted(everything) == sorted(f"tb:{n}" for n in range(40))


async def test_payload_round_trips_exactly(inbox: Queue) -> None:
    payload = {
        "tid": "3456789012345678901234",  # platform ids beyond a float's 53 bits, as strings
        "big": 2**70 + 1,
        "buyer": "张三 🚚 \"quoted\" \\ back\nslash",
        "lines": [{"sku": "沙发-灰", "qty": 2, "price": "1999.00"}, {"nested": {"a": [1, None]}}],
        "flags": {"presale": True, "masked": False, "ratio": 0.125},
        "empty": {},
    }
    sent = Envelope(kind="receive_text", dedup_key="msg:é/1", payload=payload, received_at=T)
    await inbox.put(sent)
    [got] = await inbox.take("w1", 1, 0)
    assert got == replace(sent, attempts=1)
    assert got.payload == payload and type(got.payload["big"]) is int
    assert got.received_at == T and got.received_at.tzinfo is not None


async def test_take_waits_for_work_up_to_block_ms(inbox: Queue) -> None:
    assert await inbox.take("w1", 10, 0) == []
    started = asyncio.get_running_loop().time()
    assert await inbox.take("w1", 10, 50) == []
    assert asyncio.get_running_loop().time() - started >= 0.04

    async def late_put() -> None:
        await asyncio.sleep(0.05)
        await inbox.put(envelope(7))

    task = asyncio.create_task(late_put())
    got = await inbox.take("w1", 10, 2_000)
    await task
    assert [e.dedup_key for e in got] == ["tb:7"]


async def test_a_payload_that_is_not_json_is_refused_at_put(inbox: Queue) -> None:
    with pytest.raises((TypeError, ValueError)):
        await inbox.put(envelope(1, when=T))
    assert await inbox.size() == 0
    assert await inbox.put(envelope(1)) is True  # the refused put did not burn the key
