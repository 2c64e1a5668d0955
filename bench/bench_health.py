"""Health checks per second on one core over a realistic mix of orders.

Most channel orders carry province/city/district (80% here, over every district of the
division table), some give only free text (10%, a tenth of them ambiguous), a third ask for a
company invoice (valid and typo'd 统一社会信用代码), a few have masked/encrypted receivers or bad
phones; a carrier table, a custom-order rule and a stock snapshot are configured, so every
dimension runs. Orders are built first; only ``check_order`` is timed. The process is pinned
to one CPU. Figure: ``health_checks_per_s`` (target >= 5,000).
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import replace

from bench.common import Figure
from bot.demo import taxid
from core.divisions import DISTRICT, division_index
from core.health import (
    CarrierRoute,
    Condition,
    CustomRule,
    CustomSpec,
    HealthRules,
    OrderFacts,
    StockTable,
    check_order,
)
from core.order import Invoice, InvoiceKind, Order, Receiver
from tests.factories import make_order

ORDERS = 60_000
RULES = HealthRules(
    carriers=(CarrierRoute(("中通", "圆通"), max_weight_g=30_000, fastest_hours=48),
              CarrierRoute(("顺丰",), max_weight_g=50_000, fastest_hours=24),
              CarrierRoute(("德邦",), provinces=frozenset({"浙江省", "江苏省", "上海市"}))),
    custom=(CustomRule("sofa_floor_plan", "sofa", Condition.parse("depth_cm < 45"),
                       attachments=("floor_plan",)),),
    sku_weight_g={f"SKU-{i:04d}": 2_000 + i * 10 for i in range(500)},
)
STOCK = StockTable({f"SKU-{i:04d}": i % 40 for i in range(500)})


def _places(rng: random.Random) -> list[tuple[str, str, str]]:
    index = division_index()
    places = []
    for division in index.by_code.values():
        if division.level == DISTRICT and division.parent:
            city = index.by_code[division.parent]
            province = index.by_code[city.parent] if city.parent else city
            places.append((province.name, city.name, division.name))
    rng.shuffle(places)
    return places


def _order(n: int, rng: random.Random, places: list[tuple[str, str, str]]
           ) -> tuple[Order, OrderFacts]:
    province, city, district = places[n % len(places)]
    detail = f"{rng.choice(['建设路', '人民路', '解放大道', '科技园'])}{n % 997 + 1}号{n % 31}栋"
    phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
    roll = rng.random()
    if roll < 0.80:
        receiver = Receiver("张三", phone, province, city, district, detail)
    elif roll < 0.90:
        full = rng.random() >= 0.1  # a tenth name only the district: often ambiguous
        text = f"{province}{city}{district}{detail}" if full else f"{district}{detail}"
        receiver = Receiver("李四", phone, None, None, None, text)
    elif roll < 0.95:
        receiver = Receiver("王**", "~AgAAAAEFv1mAbcdefgh~", province, city, district,
                            "~AgAAAAEFv1mM3lT4kKvNAYc0vT4wbmWEgrjL1aTIwP~")
    else:
        receiver = Receiver("赵六", phone[:10], province, city, district, detail)
    invoice = None
    if rng.random() < 0.3:
        code = taxid.make("110105", rng)
        invoice = Invoice(InvoiceKind.COMPANY, "北京某某家居有限公司",
                          taxid.corrupt(code) if rng.random() < 0.1 else code)
    order = replace(make_order(n), receiver=receiver, invoice=invoice)
    facts = OrderFacts()
    if rng.random() < 0.1:
        facts = OrderFacts(promise_hours=rng.choice([24.0, 48.0, 72.0]), custom=(CustomSpec(
            "SOFA-1", "sofa", {"depth_cm": rng.choice([40, 60])},
            ("floor_plan",) if rng.random() < 0.5 else ()),))
    return order, facts


async def run() -> list[Figure]:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = random.Random(5)
    places = _places(rng)
    batch = [_order(n, rng, places) for n in range(ORDERS)]
    check_order(*batch[0][:1], RULES, STOCK, facts=batch[0][1])  # build the index untimed
    started = time.process_time()
    unhealthy = sum(not check_order(order, RULES, STOCK, facts=facts).healthy
                    for order, facts in batch)
    elapsed = time.process_time() - started
    return [Figure("health_checks_per_s", round(ORDERS / elapsed), "orders/s"),
            Figure("health_unhealthy_share", round(unhealthy / ORDERS, 3), "fraction")]
