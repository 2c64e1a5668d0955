"""Dead letters are kept once per (source, raw bytes), on both databases.

At-least-once delivery can hand a worker the same poison payload twice (a reclaim after a slow
batch). The second time nothing new is stored, the daily counters count it as a duplicate
(received = stored + duplicates + dead_lettered still adds up), and no second card goes out.
Also: migration 0006 backfills the digest of rows kept before it, keeping earlier copies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.batch import BatchResult
from core.inbox import Envelope
from core.ingest import Arrival
from core.order import Order
from core.payloads import RawPayload, to_envelope
from core.states import OrderState
from handlers.ingest_order import IngestOrders, IngestPayloads, ingest_orders, ingest_payloads
from handlers.process_inbox import CHANNEL_PAYLOAD, InboxDeps, dead_letter
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWork
from tests.conftest import _pg_admin, in_thread
from tests.factories import T0, make_order

UowFactory = Callable[[], SqlUnitOfWork]


class BrokenParser:
    """A channel adapter meeting a payload that is not in the documented shape."""

    async def parse(self, payload: RawPayload) -> list[Order]:
        raise KeyError("tid")


def bad_push(body: bytes = b'{"msg": "not an order"}') -> RawPayload:
    return RawPayload("youzan", "webhook", body, "application/json", T0, "yz")


async def counters(engine: AsyncEngine) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT channel, received, stored, duplicates, dead_lettered FROM channel_counters "
            "ORDER BY channel"))).all()
    return [tuple(row) for row in rows]


async def count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def test_add_is_insert_or_nothing(new_uow: UowFactory, engine: AsyncEngine) -> None:
    async with new_uow() as uow:
        first = await uow.dead_letters.add(source="webhook:youzan", reason="KeyError: 'tid'",
                                           raw=b"{}", received_at=T0)
        again = await uow.dead_letters.add(source="webhook:youzan", reason="other words",
                                           raw=b"{}", received_at=T0)
        other_source = await uow.dead_letters.add(source="poll:youzan", reason="x", raw=b"{}",
                                                  received_at=T0)
        other_bytes = await uow.dead_letters.add(source="webhook:youzan", reason="x",
                                                 raw=b"{ }", received_at=T0)
        await uow.commit()
    assert isinstance(first, int) and again is None
    assert len({first, other_source, other_bytes}) == 3
    async with new_uow() as uow:
        kept = await uow.dead_letters.get(first)
        assert await uow.dead_letters.add(source="webhook:youzan", reason="later", raw=b"{}",
                                          received_at=T0) is None  # across transactions too
    assert kept is not None and kept.reason == "KeyError: 'tid'"  # the first one stands
    assert await count(engine, "SELECT count(*) FROM dead_letters") == 3


async def test_a_redelivered_bad_payload_is_a_duplicate(new_uow: UowFactory,
                                                        engine: AsyncEngine) -> None:
    for _ in range(2):  # the batch, then its reclaim
        await ingest_payloads(IngestPayloads([bad_push()], T0), BrokenParser(), new_uow)
    await ingest_payloads(IngestPayloads([bad_push(b"{}")], T0), BrokenParser(), new_uow)
    assert await count(engine, "SELECT count(*) FROM dead_letters") == 2
    assert await counters(engine) == [("youzan", 3, 0, 1, 2)]


async def test_a_rejected_order_seen_again_is_kept_once(new_uow: UowFactory,
                                                        engine: AsyncEngine) -> None:
    order = make_order(5, status=OrderState.CANCELLED, channel_status="TRADE_CLOSED")
    await ingest_orders(IngestOrders([Arrival(order, "webhook:taobao")], T0), new_uow)
    delivered = make_order(5, status=OrderState.DELIVERED)  # after cancelled: refused
    results = [await ingest_orders(IngestOrders([Arrival(delivered, "webhook:taobao")], T0),
                                   new_uow) for _ in range(2)]
    assert all(len(result.rejected) == 1 for result in results)
    assert await count(engine, "SELECT count(*) FROM dead_letters") == 1
    assert await counters(engine) == [("taobao", 3, 1, 1, 1)]


async def test_an_inbox_envelope_dead_lettered_twice_counts_once(
    new_uow: UowFactory, engine: AsyncEngine
) -> None:
    payload = to_envelope(bad_push())
    deps = InboxDeps(BrokenParser(), new_uow)
    for attempts in (6, 7):  # given up on, then the same envelope reclaimed and given up on
        envelope = Envelope(kind=CHANNEL_PAYLOAD, dedup_key="push:youzan:1", payload=payload,
                            received_at=T0, attempts=attempts)
        await dead_letter(envelope, f"gave up after {attempts - 1} attempts", deps, now=T0)
    assert await count(engine, "SELECT count(*) FROM dead_letters") == 1
    assert await counters(engine) == [("youzan", 2, 0, 1, 1)]


def test_tally_turns_repeats_into_duplicates() -> None:
    from core.counters import tally

    (row,) = tally(BatchResult((), (), ()), ["jd", "jd"], at=T0, repeats=["jd"])
    assert (row.received, row.duplicates, row.dead_lettered) == (2, 1, 1)


# --- migration 0006: the backfill ----------------------------------------------------------

BEFORE = "0005"
ROWS = [("webhook:youzan", b"A"), ("webhook:youzan", b"A"), ("webhook:youzan", b"B"),
        ("poll:youzan", b"A")]


async def _seed_and_check(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for source, raw in ROWS:
                await conn.execute(text(
                    "INSERT INTO dead_letters (source, reason, raw, received_at) "
                    "VALUES (:s, 'r', :raw, :at)"), {"s": source, "raw": raw, "at": T0})
        await asyncio.to_thread(upgrade, url, "0006")
        async with engine.connect() as conn:
            digests = [row[0] for row in (await conn.execute(text(
                "SELECT digest FROM dead_letters ORDER BY id"))).all()]
        assert digests[1] is None  # the earlier copy is kept, without a digest
        assert all(len(d) == 64 for d in (digests[0], digests[2], digests[3]))
        assert digests[0] == digests[3] != digests[2]  # same bytes, other source
    finally:
        await engine.dispose()


async def test_migration_backfills_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    await asyncio.to_thread(upgrade, url, BEFORE)
    await _seed_and_check(url)


@pytest.mark.usefixtures("pg_url")  # the server must be there (fails, never skips)
async def test_migration_backfills_postgres(pg_url: str) -> None:
    name = f"{pg_url.rsplit('/', 1)[1]}_m6"
    url = f"{pg_url.rsplit('/', 1)[0]}/{name}"
    in_thread(lambda: asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))
    in_thread(lambda: asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"')))
    try:
        await asyncio.to_thread(upgrade, url, BEFORE)
        await _seed_and_check(url)
    finally:
        in_thread(lambda: asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))
