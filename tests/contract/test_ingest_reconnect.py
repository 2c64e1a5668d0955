"""The main engine does not pre-ping its pooled connections (three round trips per checkout on
asyncpg): a connection that died under it (PostgreSQL restarted, a backend killed) is found
dead on use, the unit of work reports ``ConnectionLostError`` and ingestion runs the batch
again on a fresh connection, storing each order once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from core.errors import ConnectionLostError
from core.ingest import Arrival
from handlers.ingest_order import IngestOrders, ingest_orders
from storage.db import create_engine, session_factory
from storage.tables import OrderRow
from storage.uow import SqlUnitOfWork
from tests.conftest import fresh_engine
from tests.factories import T0, make_order

orders_t = OrderRow.__table__  # type: ignore[attr-defined]


async def _kill(url: str, pid: int) -> None:
    killer = create_engine(url)
    try:
        async with killer.begin() as conn:
            killed = await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            assert killed.scalar_one() is True
    finally:
        await killer.dispose()


async def test_a_batch_on_a_dead_pooled_connection_is_stored_once(pg_url: str) -> None:
    engine = await fresh_engine(pg_url)
    await engine.dispose()
    engine = create_engine(pg_url, pool_size=1, max_overflow=0)
    sessions = session_factory(engine)
    try:
        async with engine.connect() as conn:  # the pool's only connection
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await _kill(pg_url, pid)
        arrivals = [Arrival(make_order(n), "test") for n in range(1, 4)]
        result = await ingest_orders(IngestOrders(arrivals, T0), lambda: SqlUnitOfWork(sessions))
        assert sum(o.created for o in result.outcomes) == 3
        async with engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(orders_t))
                    ).scalar_one() == 3
            assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
    finally:
        await engine.dispose()


async def test_the_unit_of_work_reports_a_lost_connection(pg_url: str) -> None:
    """What the retry relies on: the dead connection is a ``ConnectionLostError`` (not a
    driver error), and the next unit of work gets a fresh connection."""
    engine = await fresh_engine(pg_url)
    await engine.dispose()
    engine = create_engine(pg_url, pool_size=1, max_overflow=0)
    sessions = session_factory(engine)
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await _kill(pg_url, pid)
        with pytest.raises(ConnectionLostError):
            async with SqlUnitOfWork(sessions) as uow:
                await uow.orders.load_many([make_order(1).key])
        async with SqlUnitOfWork(sessions) as uow:
            assert await uow.orders.load_many([make_order(1).key]) == {}
    finally:
        await engine.dispose()
