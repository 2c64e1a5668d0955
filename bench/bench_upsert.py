"""Upsert throughput: 20,000 canonical orders (3 lines each) through the real ingest use case
(load with row locks, core decision, batched writes of rows, lines and hash-chained events) into
PostgreSQL and into SQLite. Target: >= 3,000 orders/s into PostgreSQL on 2 cores."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from bench.common import Figure, postgres_database, sqlite_database
from core.ingest import Arrival
from core.order import Order
from handlers.ingest_order import IngestOrders, ingest_orders
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWork
from tests.factories import make_order

ORDERS = 20_000
BATCH = 500
WORKERS = 2  # concurrent batches, as the ingest worker runs them: CPU and DB overlap


async def upsert_rate(url: str) -> float:
    orders = [make_order(n) for n in range(ORDERS)]
    engine = create_engine(url)
    sessions = session_factory(engine)
    at = datetime.now(UTC)
    try:
        batches = [orders[i:i + BATCH] for i in range(0, ORDERS, BATCH)]

        async def worker(mine: list[list[Order]]) -> None:
            for batch in mine:
                arrivals = [Arrival(order, "bench") for order in batch]
                result = await ingest_orders(IngestOrders(arrivals, at),
                                             lambda: SqlUnitOfWork(sessions))
                assert len(result.outcomes) == len(batch)

        started = time.perf_counter()
        await asyncio.gather(*(worker(batches[i::WORKERS]) for i in range(WORKERS)))
        return ORDERS / (time.perf_counter() - started)
    finally:
        await engine.dispose()


async def run() -> list[Figure]:
    async with postgres_database("orderbot_bench_upsert") as url:
        postgres = await upsert_rate(url)
    async with sqlite_database() as url:
        sqlite = await upsert_rate(url)
    return [Figure("upsert_postgres_orders_per_s", round(postgres), "orders/s"),
            Figure("upsert_sqlite_orders_per_s", round(sqlite), "orders/s")]
