"""The customer desk's read side on SQLite and PostgreSQL: orders by order number (one
channel's with ``channel:number``), tracking number or phone in any stored form, each with its
parcels and their first and newest scan, in one statement on a pool that takes no
transaction; bindings of a sender."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.customer_query import phone_digest
from core.ingest import Arrival
from core.order import Order
from core.tracking import Parcel, TraceLine
from handlers.ingest_order import IngestOrders, ingest_orders
from storage.customers import SqlCustomerReader
from storage.db import create_engine, create_read_engine, session_factory
from storage.uow import SqlUnitOfWork
from tests.conftest import fresh_engine
from tests.factories import T0, make_order

UowFactory = Callable[[], SqlUnitOfWork]
A = make_order(1)  # receiver 13800000001
B = make_order(2, channel="jd", channel_order_id=A.channel_order_id)  # same number, jd
C = make_order(3, receiver=replace(make_order(3).receiver, phone="+86-13900000003"))
D = make_order(4, receiver=C.receiver, created_at=C.created_at + timedelta(days=1))


@pytest.fixture
async def reads(engine: AsyncEngine, db_url: str) -> AsyncIterator[AsyncEngine]:
    read_engine = create_read_engine(db_url, pool_size=2)
    yield read_engine
    await read_engine.dispose()


async def _seed(new_uow: UowFactory, *orders: Order) -> None:
    await ingest_orders(IngestOrders([Arrival(o, "test") for o in orders], T0), new_uow)


async def _parcel(new_uow: UowFactory, order: Order, number: str, *hours: int) -> None:
    async with new_uow() as uow:
        parcel, _ = await uow.parcels.register(
            Parcel("SF", number, order.key, order.channel, "wms", T0), at=T0)
        lines = [TraceLine(T0 + timedelta(hours=h), f"scan at +{h} h") for h in hours]
        await uow.parcels.add_lines(parcel.id or 0, "kuaidi100", lines, at=T0)
        await uow.commit()


async def test_by_tracking_number_with_first_and_newest_scan(
        new_uow: UowFactory, reads: AsyncEngine) -> None:
    await _seed(new_uow, A, B)
    await _parcel(new_uow, A, "SF100", 30, 2, 17)  # stored out of time order
    await _parcel(new_uow, A, "SF101")  # no scan yet
    (order,) = await SqlCustomerReader(reads).find(["SF100"], None)
    assert order.key == A.key and order.receiver == A.receiver
    assert [v.parcel.tracking_no for v in order.parcels] == ["SF100", "SF101"]
    first, newest = order.parcels[0].first, order.parcels[0].latest
    assert first is not None and first.text == "scan at +2 h" and first.at == T0 + timedelta(
        hours=2)
    assert newest is not None and newest.text == "scan at +30 h"
    assert order.parcels[1].first is None and order.parcels[1].latest is None


async def test_by_order_number_all_channels_or_the_one_named(
        new_uow: UowFactory, reads: AsyncEngine) -> None:
    await _seed(new_uow, A, B)
    reader = SqlCustomerReader(reads)
    assert {o.key for o in await reader.find([A.channel_order_id], None)} == {A.key, B.key}
    assert [o.key for o in await reader.find([B.key], None)] == [B.key]
    assert [o.parcels for o in await reader.find([B.key], None)] == [()]
    assert await reader.find(["SF999", "424242424242"], None) == []
    assert await reader.find([], None) == []


async def test_by_phone_in_any_stored_form_newest_first(
        new_uow: UowFactory, reads: AsyncEngine) -> None:
    await _seed(new_uow, A, C, D)
    found = await SqlCustomerReader(reads).find([], "13900000003")
    assert [o.key for o in found] == [D.key, C.key]
    both = await SqlCustomerReader(reads).find([A.channel_order_id], "13900000003")
    assert {o.key for o in both} == {A.key, C.key, D.key}


async def test_more_refs_than_one_statement_holds(new_uow: UowFactory,
                                                   reads: AsyncEngine) -> None:
    orders = [make_order(10 + n) for n in range(5)]
    await _seed(new_uow, *orders)
    found = await SqlCustomerReader(reads).find([o.key for o in orders], None)
    assert [o.key for o in found] == [o.key for o in reversed(orders)]


async def test_one_statement_per_question(new_uow: UowFactory, reads: AsyncEngine) -> None:
    await _seed(new_uow, A, C)
    await _parcel(new_uow, A, "SF100", 1, 2)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(reads.sync_engine, "before_cursor_execute", count)
    found = await SqlCustomerReader(reads).find(["SF100", A.channel_order_id], "13900000003")
    assert len(found) == 2 and len(statements) == 1
    assert not any(s.lstrip().upper().startswith(("BEGIN", "COMMIT")) for s in statements)


async def test_bindings_of_a_sender(new_uow: UowFactory, reads: AsyncEngine) -> None:
    mine, other = phone_digest("13800000001") or "", phone_digest("13900000003") or ""
    async with new_uow() as uow:
        await uow.customers.bind("webchat", "c1", mine, via="last4:x", at=T0)
        await uow.customers.bind("webchat", "c1", mine, via="again", at=T0)  # once
        await uow.customers.bind("webchat", "c2", other, via="phone:y", at=T0)
        await uow.commit()
    reader = SqlCustomerReader(reads)
    assert await reader.bound("webchat", "c1", [mine, other]) == {mine}
    assert await reader.bound("webchat", "c2", [mine]) == set()
    assert await reader.bound("http", "c1", [mine]) == set()
    assert await reader.bound("webchat", "c1", []) == set()


def _uow(engine: AsyncEngine) -> UowFactory:
    sessions = session_factory(engine)
    return lambda: SqlUnitOfWork(sessions)


async def test_reads_beside_a_writer_holding_the_sqlite_lock(sqlite_url: str) -> None:
    """The embedded mode: a customer's read does not wait for an ingesting worker."""
    writer, reads = create_engine(sqlite_url), create_read_engine(sqlite_url)
    try:
        await _seed(_uow(writer), A)
        async with writer.begin() as conn:  # BEGIN IMMEDIATE: the write lock, held
            await conn.execute(text("UPDATE orders SET remark = 'x'"))
            found = await asyncio.wait_for(SqlCustomerReader(reads).find([A.key], None), 5)
            assert [o.key for o in found] == [A.key]
    finally:
        await reads.dispose()
        await writer.dispose()


async def test_a_dead_pooled_connection_is_replaced_once(pg_url: str) -> None:
    """No pre-ping on the read pool: a connection killed under it (PostgreSQL restarted) is
    found dead on use, and the read is retried once on a new one."""
    writer, reads = await fresh_engine(pg_url), create_read_engine(pg_url, pool_size=1)
    try:
        await _seed(_uow(writer), A)
        reader = SqlCustomerReader(reads)
        async with reads.connect() as conn:  # the pool's only connection
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert len(await reader.find([A.key], None)) == 1
        async with writer.begin() as conn:
            killed = await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            assert killed.scalar_one() is True
        assert [o.key for o in await reader.find([A.key], None)] == [A.key]
        async with reads.connect() as conn:
            assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
    finally:
        await reads.dispose()
        await writer.dispose()
