"""Database-side steps of the chat e2e transcripts: seed orders, announce a suspected duplicate
(what ingestion will do once it announces), read and count what the clicks changed, wait for a
fake or for the workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.people_config import build_directory
from core.anomalies import AnomalyCode
from core.cards import CardRecord
from core.ingest import Arrival
from core.order import Order
from handlers.announce import announce_duplicate
from handlers.chat_deps import ChatDeps
from handlers.ingest_order import IngestOrders, ingest_orders
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWork
from tests.e2e.chat_support import PEOPLE
from tests.factories import T0, make_order

T = TypeVar("T")

ORDER = make_order(7)
TWIN = make_order(7, channel="jd", channel_order_id="88007001",
                  created_at=ORDER.created_at + timedelta(seconds=40))  # same buyer, same SKUs


async def ingest(url: str, *orders: Order) -> None:
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        arrivals = [Arrival(order, "test") for order in orders]
        await ingest_orders(IngestOrders(arrivals, T0), lambda: SqlUnitOfWork(sessions))
    finally:
        await engine.dispose()


async def announce(url: str, platforms: Sequence[str]) -> CardRecord:
    """A suspected-duplicate card for TWIN to every agent on ``platforms``."""
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        deps = ChatDeps(build_directory(PEOPLE), lambda: SqlUnitOfWork(sessions),
                        platforms=tuple(platforms))
        async with SqlUnitOfWork(sessions) as uow:
            (anomaly,) = [a for a in await uow.anomalies.for_order(TWIN.key)
                          if a.code is AnomalyCode.SUSPECTED_DUPLICATE]
            # now, as ingestion would: the card's SLA timer (30 min for B) is set from it
            record = await announce_duplicate(uow, anomaly, deps, now=datetime.now(UTC))
            await uow.commit()
        return record
    finally:
        await engine.dispose()


@asynccontextmanager
async def _connection(url: str) -> AsyncIterator[AsyncConnection]:
    """A connection of its own (an engine made and disposed around it), outside the service."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


async def scalar(url: str, sql: str, **params: object) -> int:
    async with _connection(url) as conn:
        return int((await conn.execute(text(sql), params)).scalar_one())


async def value(url: str, sql: str, **params: object) -> Any:
    """The first row's one value (or its values as a tuple); None without a row."""
    async with _connection(url) as conn:
        row = (await conn.execute(text(sql), params)).first()
        return None if row is None else row[0] if len(row) == 1 else tuple(row)


async def rows(url: str, sql: str, **params: object) -> list[Any]:
    async with _connection(url) as conn:
        return list((await conn.execute(text(sql), params)).all())


async def until(url: str, sql: str, expected: object, within: float = 15,
                **params: object) -> object:
    """``sql``'s value once it equals ``expected`` (or whatever it is at the deadline): for what
    the workers write a little after the request that caused it."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = await value(url, sql, **params)
        if found == expected or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)


async def order_events(url: str, key: str, kind: str) -> int:
    return await scalar(url, "SELECT count(*) FROM order_events WHERE order_key = :k AND "
                             "kind = :kind", k=key, kind=kind)


async def open_anomalies(url: str, key: str) -> int:
    return await scalar(url, "SELECT count(*) FROM anomalies WHERE order_key = :k AND "
                             "status = 'open'", k=key)


async def eventually(probe: Callable[[], T], within: float = 10.0) -> T:
    """``probe()`` once it is truthy (the fakes record calls as the outbox delivers them)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = probe()
        if value or asyncio.get_running_loop().time() > deadline:
            assert value, f"nothing after {within}s"
            return value
        await asyncio.sleep(0.05)
