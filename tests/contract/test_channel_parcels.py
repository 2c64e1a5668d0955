"""Channel waybills become parcels in the ingest transaction, on SQLite and PostgreSQL alike:
bound to the order (key and row id), once per (number, carrier) whatever the pushes, a number
known before without an order bound to it, two batches racing for one waybill both commit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.ingest import Arrival
from core.order import Order, Shipment
from core.states import OrderState
from core.tracking import Parcel
from handlers.ingest_order import IngestOrders, ingest_orders
from storage.uow import SqlUnitOfWork
from tests.factories import T0, make_order

UowFactory = Callable[[], SqlUnitOfWork]
AT = T0 + timedelta(hours=1)
ROWS = ("SELECT p.tracking_no, p.carrier, p.order_key, p.source, p.order_id = o.id "
        "FROM parcels p LEFT JOIN orders o ON o.id = p.order_id ORDER BY p.tracking_no")


def shipped(n: int, *numbers: tuple[str, str]) -> Order:
    return make_order(n, status=OrderState.LABEL_PRINTED,
                      shipments=tuple(Shipment(number, carrier) for number, carrier in numbers))


async def ingest(new_uow: UowFactory, *orders: Order, at: Any = AT) -> None:
    await ingest_orders(IngestOrders([Arrival(o, "test") for o in orders], at), new_uow)


async def rows(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(ROWS))).all()]


async def test_waybills_registered_once_and_added_when_new(new_uow: UowFactory,
                                                           engine: AsyncEngine) -> None:
    first = shipped(1, ("ZT100", "ZTO"), ("SF100", "SF"))
    await ingest(new_uow, first, shipped(2))  # order 2 has no waybill: nothing for it
    key = first.key
    assert await rows(engine) == [("SF100", "SF", key, "channel", True),
                                  ("ZT100", "ZTO", key, "channel", True)]
    await ingest(new_uow, first, at=AT + timedelta(minutes=5))  # re-push: nothing new
    await ingest(new_uow, shipped(1, ("ZT100", "ZTO"), ("SF100", "SF"), ("SF101", "SF")),
                 at=AT + timedelta(minutes=9))  # a third parcel
    assert [r[0] for r in await rows(engine)] == ["SF100", "SF101", "ZT100"]
    async with new_uow() as uow:
        [parcel] = await uow.parcels.find("SF101")
        due = await uow.parcels.due(AT + timedelta(minutes=9), 10)
    assert parcel.channel == "taobao" and parcel.checked_at is None  # never polled yet
    assert "SF101" in {p.tracking_no for p in due}  # due at once, for the poller


async def test_a_number_known_without_an_order_is_bound_to_it(new_uow: UowFactory,
                                                              engine: AsyncEngine) -> None:
    async with new_uow() as uow:  # the WMS printed the label before the channel said so
        await uow.parcels.register(Parcel("SF", "SF200", None, None, "wms", AT), at=AT)
        await uow.commit()
    order = shipped(3, ("SF200", "SF"))
    await ingest(new_uow, order)
    assert await rows(engine) == [("SF200", "SF", order.key, "wms", True)]


async def test_two_batches_racing_for_one_waybill_both_commit(new_uow: UowFactory,
                                                              engine: AsyncEngine) -> None:
    """Insert-or-nothing: the slower batch neither fails nor adds a second parcel."""
    a, b = shipped(4, ("YT300", "YTO")), shipped(5, ("YT300", "YTO"))
    await asyncio.gather(ingest(new_uow, a), ingest(new_uow, b))
    [(number, carrier, key, source, bound)] = await rows(engine)
    assert (number, carrier, source, bound) == ("YT300", "YTO", "channel", True)
    assert key in (a.key, b.key)
    async with engine.connect() as conn:
        orders = (await conn.execute(text("SELECT count(*) FROM orders"))).scalar_one()
    assert orders == 2


async def test_a_parcel_registered_before_its_order_is_bound_when_the_order_arrives(
        new_uow: UowFactory, engine: AsyncEngine) -> None:
    """A WMS label registered with the order key ahead of the channel's push: once the order
    is stored the parcel carries its row id, so the desk finds the order by tracking number."""
    order = make_order(6)
    async with new_uow() as uow:
        await uow.parcels.register(Parcel("SF", "SF600", order.key, order.channel, "wms", AT),
                                   at=AT)
        await uow.commit()
    assert await rows(engine) == [("SF600", "SF", order.key, "wms", None)]  # no order yet
    await ingest(new_uow, make_order(7), order)
    assert await rows(engine) == [("SF600", "SF", order.key, "wms", True)]
    async with new_uow() as uow:
        assert await uow.parcels.bind_waiting([order.key]) == 0  # bound once, nothing left
