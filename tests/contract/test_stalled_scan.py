"""The stalled-order scan (issue 5: "no status change for 48 h on an open order ->
ORDER_STALLED (C)"), on both databases: ``handlers.stalled.scan_stalled`` as the timer worker
calls it.

Orders stored at T0: one paid and untouched, one moved to allocated 30 h later, one delivered,
one cancelled. The scan at T0 + 49 h freezes only the untouched paid order: an ORDER_STALLED
anomaly (class C, blocking, owned by the warehouse) with its card to the warehouse person, the
order held; it sets its successor timer. A second scan opens nothing more (one open
ORDER_STALLED per order); the moved order stalls in its turn once 48 h have passed since its
move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.ingest import Arrival
from core.order import Order
from core.people import Directory, Person, Role
from core.states import OrderState
from core.timers import STALLED_SCAN_KEY, stalled_scan_timer
from handlers.chat_deps import AnomalySettings, ChatDeps
from handlers.ingest_order import IngestOrders, ingest_orders
from handlers.stalled import scan_stalled
from storage.uow import SqlUnitOfWork
from tests.factories import T0, make_order

UowFactory = Callable[[], SqlUnitOfWork]
STAFF = (Person("a1", "客服一", frozenset({Role.AGENT})),
         Person("w1", "仓管", frozenset({Role.WAREHOUSE})))
SCAN_S = 600.0
STILL = make_order(41)
MOVED = make_order(42)
DONE = make_order(43, status=OrderState.DELIVERED)
GONE = make_order(44, status=OrderState.CANCELLED)


async def ingest(new_uow: UowFactory, *orders: Order, hours: float = 0) -> None:
    await ingest_orders(IngestOrders([Arrival(o, "test") for o in orders],
                                     T0 + timedelta(hours=hours)), new_uow)


async def scan(new_uow: UowFactory, hours: float) -> int:
    deps = ChatDeps(Directory(STAFF), new_uow,
                    anomalies=AnomalySettings(stalled_scan_s=SCAN_S))
    now = T0 + timedelta(hours=hours)
    async with new_uow() as uow:
        frozen = await scan_stalled(uow, stalled_scan_timer(now), deps, now=now)
        await uow.commit()
    return frozen


async def rows(engine: AsyncEngine, sql: str, **params: object) -> list[Any]:
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]


async def test_an_untouched_open_order_is_frozen_once(engine: AsyncEngine,
                                                      new_uow: UowFactory) -> None:
    await ingest(new_uow, STILL, MOVED, DONE, GONE)
    await ingest(new_uow, replace(MOVED, status=OrderState.ALLOCATED), hours=30)
    assert await scan(new_uow, 47.9) == 0  # not 48 h yet for anyone

    assert await scan(new_uow, 49) == 1
    stalled = await rows(engine, "SELECT order_key, klass, blocking, owner_role, status "
                                 "FROM anomalies WHERE code = 'ORDER_STALLED'")
    assert [(k, c, bool(b), o, s) for k, c, b, o, s in stalled] == \
        [(STILL.key, "C", True, "warehouse", "open")]
    outbox = await rows(engine, "SELECT conversation, kind FROM outbox")
    assert outbox == [("w1", "card")]  # the warehouse person, on the web chat
    async with new_uow() as uow:
        held = await uow.orders.load_many([STILL.key, MOVED.key])
        assert held[STILL.key].holds == ("ORDER_STALLED",)
        assert held[MOVED.key].holds == ()
        successor = await uow.timers.get(STALLED_SCAN_KEY)
    assert successor is not None
    assert successor.due_at == T0 + timedelta(hours=49, seconds=SCAN_S)

    assert await scan(new_uow, 50) == 0  # already frozen: no second anomaly, no second card
    assert len(await rows(engine, "SELECT id FROM anomalies")) == 1
    assert await scan(new_uow, 78.5) == 1  # 48 h after its move, the allocated order stalls
    keys = await rows(engine, "SELECT order_key FROM anomalies WHERE code = 'ORDER_STALLED' "
                              "ORDER BY id")
    assert keys == [(STILL.key,), (MOVED.key,)]
