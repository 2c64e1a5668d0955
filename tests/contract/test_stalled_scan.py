"""The stalled-order scan (issue 5: "no status change for 48 h on an open order ->
ORDER_STALLED (C)"), on both databases: ``handlers.stalled.scan_stalled`` as the timer worker
calls it.

Orders stored at T0: one paid and untouched, one moved to allocated 30 h later, one delivered,
one cancelled. The scan at T0 + 49 h freezes only the untouched paid order: an ORDER_STALLED
anomaly (class C, blocking, owned by the warehouse) with its card to the warehouse person, the
order held; it sets its successor timer. A second scan opens nothing more (one open
ORDER_STALLED per order); the moved order stalls in its turn once 48 h have passed since its
move.

Orders in transit for three days, status unchanged since T0: one whose parcel was scanned 2 h
before the scan (moving: not stalled), one whose newest scan is 50 h old (stalled), one without
a parcel (stalled on its status, as before). The moving one stalls 48 h after its last scan.
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
from core.tracking import Parcel, TraceLine, TrackingState, TrackReport
from handlers.chat_deps import AnomalySettings, ChatDeps
from handlers.ingest_order import IngestOrders, ingest_orders
from handlers.stalled import scan_stalled
from handlers.track_parcel import apply_report
from handlers.tracking_ports import TrackingDeps
from integrations.logistics.failover import ProviderChain
from storage.customers import SqlCustomerReader
from storage.rate_limit import MemoryRateLimiter
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
MOVING = make_order(45, status=OrderState.IN_TRANSIT)
QUIET = make_order(46, status=OrderState.IN_TRANSIT)
BARE = make_order(47, status=OrderState.IN_TRANSIT)


async def ingest(new_uow: UowFactory, *orders: Order, hours: float = 0) -> None:
    await ingest_orders(IngestOrders([Arrival(o, "test") for o in orders],
                                     T0 + timedelta(hours=hours)), new_uow)


def chat_deps(new_uow: UowFactory) -> ChatDeps:
    return ChatDeps(Directory(STAFF), new_uow, anomalies=AnomalySettings(stalled_scan_s=SCAN_S))


async def scan(new_uow: UowFactory, hours: float) -> int:
    deps = chat_deps(new_uow)
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


async def carrier_scans(tracking: TrackingDeps, order: Order, number: str,
                        *hours: float) -> None:
    """Register ``order``'s parcel, then report an in-transit scan at each of ``hours``
    (each pushed a minute after the scan), as the tracking use case applies them."""
    async with tracking.new_uow() as uow:
        await uow.parcels.register(Parcel("ZTO", number, order.key, order.channel, "wms", T0),
                                   at=T0)
        await uow.commit()
    for h in hours:
        at = T0 + timedelta(hours=h)
        line = TraceLine(at, f"【转运中心】{h:g} 小时 已发出")
        await apply_report(tracking, TrackReport("kuaidi100", "ZTO", number,
                                                 TrackingState.IN_TRANSIT, "0", (line,)),
                           now=at + timedelta(minutes=1))


async def test_a_parcel_still_being_scanned_is_not_stalled(engine: AsyncEngine,
                                                           new_uow: UowFactory) -> None:
    tracking = TrackingDeps(new_uow, ProviderChain([]), MemoryRateLimiter(),
                            chat_deps(new_uow), SqlCustomerReader(engine))
    await ingest(new_uow, MOVING, QUIET, BARE)
    await carrier_scans(tracking, MOVING, "ZT45", 10, 40, 70)  # newest: 2 h before the scan
    await carrier_scans(tracking, QUIET, "ZT46", 10, 22)  # newest: 50 h before the scan
    changed = await rows(engine, "SELECT count(*) FROM order_events "
                                 "WHERE kind = 'state_changed'")
    assert changed == [(0,)]  # in transit since T0: the scans moved no status

    assert await scan(new_uow, 72) == 2
    stalled = await rows(engine, "SELECT order_key, reason FROM anomalies "
                                 "WHERE code = 'ORDER_STALLED' ORDER BY order_key")
    assert [k for k, _ in stalled] == sorted([QUIET.key, BARE.key])
    assert all("48 小时没有状态变化，也没有新的快递扫描" in reason for _, reason in stalled)
    async with new_uow() as uow:
        held = await uow.orders.load_many([MOVING.key])
    assert held[MOVING.key].holds == ()

    assert await scan(new_uow, 70 + 47.9) == 0  # 48 h after its newest scan, not before
    assert await scan(new_uow, 70 + 48.1) == 1
    keys = await rows(engine, "SELECT order_key FROM anomalies WHERE code = 'ORDER_STALLED' "
                              "ORDER BY id")
    assert keys[-1] == (MOVING.key,)
