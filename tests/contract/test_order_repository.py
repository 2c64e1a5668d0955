"""The order repository contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.anomalies import AnomalyCode, open_anomaly
from core.errors import ConcurrencyError
from core.events import append_event, verify_chain
from core.ingest import Arrival, IngestKind
from core.order import OrderLine, to_canonical
from core.states import OrderState
from handlers.ingest_order import IngestOrders, ingest_orders
from storage.uow import SqlUnitOfWork
from tests.factories import T0, make_order

UowFactory = Callable[[], SqlUnitOfWork]
AT = T0 + timedelta(hours=1)


async def ingest(new_uow: UowFactory, *orders, at=AT, source="test"):  # type: ignore[no-untyped-def]
    arrivals = [Arrival(order, source) for order in orders]
    return await ingest_orders(IngestOrders(arrivals, at), new_uow)


def kinds(result) -> tuple[IngestKind, ...]:  # type: ignore[no-untyped-def]
    return tuple(kind for _, kind in result.kinds)


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def stored(new_uow: UowFactory, key: str):  # type: ignore[no-untyped-def]
    async with new_uow() as uow:
        return await uow.orders.get(key), await uow.orders.events(key)


async def test_new_order_round_trips_exactly(new_uow: UowFactory, engine: AsyncEngine) -> None:
    order = make_order(1)
    result = await ingest(new_uow, order)
    assert kinds(result) == (IngestKind.CREATED,)
    loaded, events = await stored(new_uow, order.key)
    assert loaded is not None
    assert to_canonical(loaded.order) == to_canonical(order)
    assert [e.kind for e in events] == ["ingested"]
    assert verify_chain(events).ok
    assert loaded.head == events[-1].head
    assert (await count(engine, "orders"), await count(engine, "order_lines")) == (1, 3)


async def test_same_order_twice_is_a_no_op(new_uow: UowFactory, engine: AsyncEngine) -> None:
    order = make_order(2)
    await ingest(new_uow, order)
    second = await ingest(new_uow, order)
    assert kinds(second) == (IngestKind.UNCHANGED,)
    assert await count(engine, "orders") == 1
    assert await count(engine, "order_events") == 1


async def test_update_in_place_appends_events(new_uow: UowFactory, engine: AsyncEngine) -> None:
    order = make_order(3, status=OrderState.PENDING_PAYMENT, paid_at=None)
    await ingest(new_uow, order)
    newer = replace(order, status=OrderState.PAID, paid_at=order.created_at, remark="尽快发货")
    result = await ingest(new_uow, newer)
    assert kinds(result) == (IngestKind.UPDATED,)
    loaded, events = await stored(new_uow, order.key)
    assert loaded is not None and loaded.order.status is OrderState.PAID
    assert loaded.order.remark == "尽快发货"
    assert [e.kind for e in events] == ["ingested", "updated", "state_changed"]
    assert events[1].data["changed"] == ["paid_at", "remark"]
    assert events[2].data == {"from": "pending_payment", "to": "paid", "via": "channel",
                              "channel_status": order.channel_status}
    assert verify_chain(events).ok
    assert await count(engine, "orders") == 1


async def test_changed_lines_are_replaced(new_uow: UowFactory, engine: AsyncEngine) -> None:
    order = make_order(4)
    await ingest(new_uow, order)
    one_line = (OrderLine(sku="SKU-X", title="脚凳", quantity=2, unit_price_fen=5000,
                          paid_fen=10000),)
    await ingest(new_uow, replace(order, lines=one_line))
    loaded, _ = await stored(new_uow, order.key)
    assert loaded is not None and loaded.order.lines == one_line
    assert await count(engine, "order_lines") == 1


async def test_a_key_twice_in_one_batch_folds(new_uow: UowFactory, engine: AsyncEngine) -> None:
    order = make_order(5, status=OrderState.PENDING_PAYMENT)
    result = await ingest(new_uow, order, replace(order, status=OrderState.PAID), order)
    assert kinds(result) == (IngestKind.CREATED, IngestKind.UPDATED, IngestKind.UNCHANGED)
    loaded, events = await stored(new_uow, order.key)
    assert loaded is not None and loaded.order.status is OrderState.PAID
    assert [e.seq for e in events] == [1, 2]
    assert verify_chain(events).ok
    assert await count(engine, "orders") == 1


async def test_impossible_move_goes_to_dead_letters(
    new_uow: UowFactory, engine: AsyncEngine
) -> None:
    cancelled = make_order(6, status=OrderState.CANCELLED)
    await ingest(new_uow, cancelled)
    result = await ingest(new_uow, replace(cancelled, status=OrderState.IN_TRANSIT), make_order(7))
    assert kinds(result) == (IngestKind.CREATED,)
    assert "illegal transition cancelled -> in_transit" in result.rejected[0].reason
    async with new_uow() as uow:
        letters = await uow.dead_letters.list()
    assert [letter.reason for letter in letters] == [result.rejected[0].reason]
    assert b'"in_transit"' in letters[0].raw
    assert await count(engine, "orders") == 2


async def test_a_held_order_does_not_advance_but_may_cancel(new_uow: UowFactory) -> None:
    """Advancing a held order is deferred (kept for its release, loaded with the order), not
    refused; leaving the fulfilment path is not held back."""
    order = make_order(8)
    await ingest(new_uow, order)
    async with new_uow() as uow:
        await uow.orders.load_many([order.key])
        await uow.orders.add_anomaly(open_anomaly(order.key, AnomalyCode.ADDRESS_MISSING, at=AT,
                                                  reason="no address"))
        await uow.commit()
    blocked = await ingest(new_uow, replace(order, status=OrderState.IN_TRANSIT))
    assert blocked.rejected == () and blocked.outcomes[0].order.status is OrderState.PAID
    loaded, _ = await stored(new_uow, order.key)
    assert loaded is not None and loaded.deferred is not None
    assert loaded.deferred.target is OrderState.IN_TRANSIT
    assert loaded.deferred.seq == blocked.outcomes[0].events[-1].seq
    allowed = await ingest(new_uow, replace(order, status=OrderState.CANCELLED))
    assert kinds(allowed) == (IngestKind.UPDATED,)
    loaded, _ = await stored(new_uow, order.key)
    assert loaded is not None and loaded.holds == ("ADDRESS_MISSING",)
    assert loaded.order.status is OrderState.CANCELLED


async def test_two_writers_of_one_version_one_wins(new_uow: UowFactory) -> None:
    order = make_order(9)
    await ingest(new_uow, order)
    async with new_uow() as uow:
        seen = (await uow.orders.load_many([order.key], lock=False))[order.key]

    async def cancel(actor: str) -> None:
        event = append_event(seen.head, order.key, at=AT, actor=actor, kind="state_changed",
                             data={"from": "paid", "to": "cancelled"})
        async with new_uow() as uow:
            await uow.orders.save_change(
                seen, replace(seen.order, status=OrderState.CANCELLED), [event], at=AT
            )
            await uow.commit()

    await cancel("supervisor-1")
    with pytest.raises(ConcurrencyError, match="changed since it was loaded"):
        await cancel("supervisor-2")
    loaded, events = await stored(new_uow, order.key)
    assert [e.actor for e in events] == ["test", "supervisor-1"]
    assert loaded is not None and loaded.version == seen.version + 1
    assert verify_chain(events).ok


async def test_concurrent_first_ingests_store_one_row(
    new_uow: UowFactory, engine: AsyncEngine
) -> None:
    order = make_order(10)
    results = await asyncio.gather(*(ingest(new_uow, order) for _ in range(4)))
    found = sorted(k for r in results for _, k in r.kinds)
    assert found == ["created", "unchanged", "unchanged", "unchanged"]
    assert await count(engine, "orders") == 1
    assert await count(engine, "order_events") == 1


async def test_tampering_with_a_stored_event_is_named(
    new_uow: UowFactory, engine: AsyncEngine
) -> None:
    order = make_order(11, status=OrderState.PENDING_PAYMENT)
    await ingest(new_uow, order)
    await ingest(new_uow, replace(order, status=OrderState.PAID))
    await ingest(new_uow, replace(order, status=OrderState.PAID, remark="改了备注"))
    _, events = await stored(new_uow, order.key)
    assert [e.kind for e in events] == ["ingested", "state_changed", "updated"]
    assert verify_chain(events).ok
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE order_events SET actor = 'mallory' WHERE seq = 2"))
    _, tampered = await stored(new_uow, order.key)
    check = verify_chain(tampered)
    assert (check.ok, check.broken_seq) == (False, 2)
    assert "altered" in (check.reason or "")


async def test_find_by_reference(new_uow: UowFactory) -> None:
    await ingest(new_uow, make_order(12), make_order(12, channel="jd"), make_order(13))
    async with new_uow() as uow:
        both = await uow.orders.find(make_order(12).channel_order_id)
        exact = await uow.orders.find(make_order(13).key)
        by_id = await uow.orders.find("1")
        nothing = await uow.orders.find("no-such-order")
    assert both == [make_order(12).key, make_order(12, channel="jd").key]
    assert exact == [make_order(13).key]
    assert by_id == [make_order(12).key]
    assert nothing == []


async def test_ids_beyond_float_precision_are_kept(new_uow: UowFactory) -> None:
    big = str(2**63 - 25)
    order = make_order(14, channel_order_id=big)
    await ingest(new_uow, order)
    loaded, _ = await stored(new_uow, f"taobao:{big}")
    assert loaded is not None and loaded.order.channel_order_id == big


async def test_suspected_duplicate_across_channels_is_recorded(
    new_uow: UowFactory, engine: AsyncEngine
) -> None:
    first = make_order(20, channel="taobao")
    await ingest(new_uow, first)
    twin = make_order(20, channel="youzan", channel_order_id="E2026111100001",
                      created_at=first.created_at + timedelta(seconds=170))
    await ingest(new_uow, twin, make_order(21, channel="youzan"))
    async with new_uow() as uow:
        flagged = await uow.orders.anomalies(twin.key)
        clean = await uow.orders.anomalies(first.key)
        stored_twin = await uow.orders.get(twin.key)
    assert [(a.code.value, a.data["other"]) for a in flagged] == [
        ("SUSPECTED_DUPLICATE", first.key)]
    assert clean == []
    assert stored_twin is not None and stored_twin.holds == ("SUSPECTED_DUPLICATE",)
    assert stored_twin.head.seq == 2
    assert await count(engine, "anomalies") == 1
