"""Health checks in the ingest transaction, on both databases (the use case, no HTTP).

- A new order without an address opens ADDRESS_MISSING with its card, outbox rows and SLA
  timer, and holds the order; the same order pushed with the address closes it as ``auto``
  (cards closed, timer gone, no longer held).
- Shadow findings open nothing and are counted once per check: a redelivery (unchanged) and a
  status-only move are not checked again, a content change is.
- Stock comes from ``stock_levels``: short lines open OUT_OF_STOCK_SUBSTITUTE with the
  in-stock substitutes; SKUs the table does not list are not judged.
- ``anomaly_stats`` reports opened by code, the self-healing rate and the rule hits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.health import HealthRules, Mode
from core.ingest import Arrival
from core.order import Invoice, InvoiceKind, Order
from core.people import Directory, Person, Role
from core.states import OrderState
from handlers.chat_deps import AnomalySettings, ChatDeps
from handlers.ingest_order import IngestOrders, ingest_orders
from storage.anomaly_stats import anomaly_stats
from storage.health import load_stock
from storage.uow import SqlUnitOfWork
from tests.factories import T0, make_order
from tests.unit.core.health.helpers import HUAWEI

UowFactory = Callable[[], SqlUnitOfWork]
STAFF = (Person("a1", "客服一", frozenset({Role.AGENT})),
         Person("s1", "主管", frozenset({Role.SUPERVISOR})))
RULES = HealthRules(modes={"phone.invalid": Mode.SHADOW})


def chat(new_uow: UowFactory) -> ChatDeps:
    settings = AnomalySettings(health=RULES, substitutes={"SKU-0004": ("ALT-OUT", "ALT-IN")})
    return ChatDeps(Directory(STAFF), new_uow, anomalies=settings)  # type: ignore[arg-type]


def order(n: int, **changes: Any) -> Order:
    made = make_order(n, invoice=Invoice(InvoiceKind.COMPANY, "华为技术有限公司", HUAWEI))
    return replace(made, **changes)


def receiver(made: Order, **fields: Any) -> Order:
    return replace(made, receiver=replace(made.receiver, **fields))


async def ingest(new_uow: UowFactory, *orders: Order, minutes: int = 0) -> None:
    at = T0 + timedelta(minutes=minutes)
    await ingest_orders(IngestOrders([Arrival(o, "test") for o in orders], at), new_uow,
                        chat(new_uow))


async def value(engine: AsyncEngine, sql: str, **params: object) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def test_missing_address_opens_a_card_and_a_fixed_push_closes_it(
        engine: AsyncEngine, new_uow: UowFactory) -> None:
    good = order(1)
    missing = receiver(good, address=None, district=None)
    await ingest(new_uow, missing)
    assert await value(engine, "SELECT status FROM anomalies WHERE code = 'ADDRESS_MISSING'") \
        == "open"
    assert await value(engine, "SELECT count(*) FROM outbox") == 1  # 客服一 on web chat
    assert await value(engine, "SELECT count(*) FROM timers") == 1
    async with new_uow() as uow:
        assert (await uow.orders.load_many([good.key]))[good.key].holds == ("ADDRESS_MISSING",)

    await ingest(new_uow, good, minutes=1)
    assert await value(engine, "SELECT resolution FROM anomalies") == "auto"
    assert await value(engine, "SELECT count(*) FROM timers") == 0
    assert await value(engine, "SELECT count(*) FROM cards WHERE handled_by IS NULL") == 0
    async with new_uow() as uow:
        assert (await uow.orders.load_many([good.key]))[good.key].holds == ()
    kinds = [e.kind for e in await _events(new_uow, good.key)]
    assert kinds == ["ingested", "anomaly_opened", "updated", "anomaly_resolved"]

    stats = await anomaly_stats(engine, since=T0 - timedelta(days=1))
    assert stats.opened_by_code == {("A", "ADDRESS_MISSING"): 1}
    assert stats.self_healing_rate == 1.0
    assert stats.rule_hits == {("address.missing", "ADDRESS_MISSING", "enforce"): 1}


async def test_shadow_findings_are_counted_once_per_check(
        engine: AsyncEngine, new_uow: UowFactory) -> None:
    bad_phone = receiver(order(2), phone="1380013")
    hits = "SELECT coalesce(sum(hits), 0) FROM health_rule_hits WHERE mode = 'shadow'"
    await ingest(new_uow, bad_phone)
    assert await value(engine, hits) == 1
    assert await value(engine, "SELECT count(*) FROM anomalies") == 0
    await ingest(new_uow, bad_phone, minutes=1)  # redelivered: unchanged
    await ingest(new_uow, replace(bad_phone, status=OrderState.AWAITING_ALLOCATION), minutes=2)
    assert await value(engine, hits) == 1  # status-only: not checked again
    await ingest(new_uow, replace(bad_phone, status=OrderState.AWAITING_ALLOCATION,
                                  remark="请周末送货"), minutes=3)
    assert await value(engine, hits) == 2
    stats = await anomaly_stats(engine)
    assert stats.rule_hits == {("phone.invalid", "PHONE_INVALID", "shadow"): 2}
    assert stats.opened == 0


async def test_stock_from_the_table_offers_in_stock_substitutes(
        engine: AsyncEngine, new_uow: UowFactory) -> None:
    async with engine.begin() as conn:
        await load_stock(conn, {"SKU-0004": 1, "ALT-OUT": 0, "ALT-IN": 40}, at=T0)
    # order 3 needs 2 x SKU-0004; order 5 needs none of it (its other SKUs are not listed)
    await ingest(new_uow, order(3), order(5, lines=order(5).lines[1:]))
    assert await value(engine, "SELECT count(*) FROM anomalies") == 1
    data = await value(engine, "SELECT data FROM anomalies WHERE code = "
                               "'OUT_OF_STOCK_SUBSTITUTE'")
    doc = data if isinstance(data, dict) else json.loads(data)
    assert doc["sku"] == "SKU-0004" and doc["substitutes"] == ["ALT-IN"]
    assert await value(engine, "SELECT order_key FROM anomalies") == order(3).key


async def _events(new_uow: UowFactory, key: str) -> list[Any]:
    async with new_uow() as uow:
        return list(await uow.orders.events(key))
