"""What health checks at ingestion cost the common healthy path: the real ingest use case into
PostgreSQL with chat installed (as every `orderbot run` / `orderbot worker` runs it), without
health rules (the tree before health checks were wired) and with the default ``[health]``
rules plus the stock snapshot table (every line's SKU tracked, all in stock), for batches of
healthy new orders and batches of healthy orders whose content changed (a re-push with a new
remark: the check runs again and the open anomalies of those orders are looked up).

Same process, same database, rounds alternating which variant goes first, so both see the
same machine load; the best round of each counts. CPU of this process per order
(``time.process_time``) and wall-clock orders/s; SQL statements a 500-order batch adds.

Figures: ``ingest_nohealth_cpu_us_per_order`` / ``ingest_health_cpu_us_per_order`` (new
orders), ``ingest_nohealth_orders_per_s`` / ``ingest_health_orders_per_s`` (wall),
``ingest_health_update_cpu_us_per_order`` / ``ingest_nohealth_update_cpu_us_per_order``
(changed orders), ``ingest_health_extra_sql_per_batch`` (new orders: the stock query) and
``ingest_health_update_extra_sql_per_batch`` (changed orders: stock + open anomalies).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import Figure, postgres_database
from core import taxid
from core.health import DEFAULT_RULES
from core.ingest import Arrival
from core.order import Invoice, InvoiceKind, Order
from core.people import Directory, Person, Role
from handlers.chat_deps import AnomalySettings, ChatDeps
from handlers.ingest_order import IngestOrders, ingest_orders
from storage.db import create_engine, session_factory
from storage.health import load_stock
from storage.uow import SqlUnitOfWork
from tests.factories import make_order

ROUNDS, PER_ROUND, BATCH = 6, 1_500, 500
STAFF = (Person("a1", "客服一", frozenset({Role.AGENT})),
         Person("s1", "主管", frozenset({Role.SUPERVISOR, Role.AGENT})))
TAX_ID = "91330106MA2GL1RQ5" + taxid.check_char("91330106MA2GL1RQ5")


def healthy(n: int) -> Order:
    """The test factory's order with a valid 统一社会信用代码 (its own is made up)."""
    order = make_order(n)
    return replace(order, invoice=Invoice(InvoiceKind.COMPANY, "杭州某某家居有限公司", TAX_ID))


async def run() -> list[Figure]:
    async with postgres_database("orderbot_bench_ingest_health") as url:
        engine = create_engine(url)
        sessions = session_factory(engine)
        new_uow = lambda: SqlUnitOfWork(sessions)  # noqa: E731
        directory = Directory(STAFF)
        variants = {
            False: ChatDeps(directory, new_uow, platforms=("webchat",)),  # type: ignore[arg-type]
            True: ChatDeps(directory, new_uow, platforms=("webchat",),  # type: ignore[arg-type]
                           anomalies=AnomalySettings(health=DEFAULT_RULES, stock=True)),
        }
        at = datetime.now(UTC)
        async with engine.begin() as conn:
            await load_stock(conn, {f"SKU-{i:04d}": 10**6 for i in range(10)}, at=at)
        next_n = iter(range(10**9))

        async def timed(orders: list[Order], with_health: bool) -> tuple[float, float]:
            """(CPU us per order, orders per wall second)."""
            cpu, wall = time.process_time(), time.perf_counter()
            for i in range(0, len(orders), BATCH):
                arrivals = [Arrival(o, "bench") for o in orders[i:i + BATCH]]
                await ingest_orders(IngestOrders(arrivals, at), new_uow, variants[with_health])
            return ((time.process_time() - cpu) / len(orders) * 1e6,
                    len(orders) / (time.perf_counter() - wall))

        def fresh(count: int) -> list[Order]:
            return [healthy(next(next_n) + 2_000_000) for _ in range(count)]

        def changed(orders: list[Order]) -> list[Order]:
            return [replace(o, remark=f"{o.remark or ''} 请周末送货") for o in orders]

        results: dict[tuple[str, bool], list[tuple[float, float]]] = {}
        try:
            for n in range(ROUNDS):
                for with_health in ((False, True) if n % 2 == 0 else (True, False)):
                    stored = fresh(PER_ROUND)
                    results.setdefault(("new", with_health), []).append(
                        await timed(stored, with_health))
                    results.setdefault(("update", with_health), []).append(
                        await timed(changed(stored), with_health))
            extra_new = await _extra_sql(engine, lambda w: timed(fresh(BATCH), w))
            extra_update = await _extra_sql(engine, lambda w: _stored_then_changed(
                fresh(BATCH), changed, timed, w))
        finally:
            await engine.dispose()

    def cpu(kind: str, with_health: bool) -> int:
        return round(min(c for c, _ in results[(kind, with_health)]))

    def rate(with_health: bool) -> int:
        return round(max(r for _, r in results[("new", with_health)]))

    return [Figure("ingest_nohealth_cpu_us_per_order", cpu("new", False), "us"),
            Figure("ingest_health_cpu_us_per_order", cpu("new", True), "us"),
            Figure("ingest_nohealth_orders_per_s", rate(False), "orders/s"),
            Figure("ingest_health_orders_per_s", rate(True), "orders/s"),
            Figure("ingest_nohealth_update_cpu_us_per_order", cpu("update", False), "us"),
            Figure("ingest_health_update_cpu_us_per_order", cpu("update", True), "us"),
            Figure("ingest_health_extra_sql_per_batch", extra_new, "statements"),
            Figure("ingest_health_update_extra_sql_per_batch", extra_update, "statements")]


Timed = Callable[[list[Order], bool], Awaitable[tuple[float, float]]]


async def _stored_then_changed(orders: list[Order], changed: Callable[[list[Order]], list[Order]],
                               timed: Timed, with_health: bool) -> tuple[float, float]:
    await timed(orders, False)
    return await timed(changed(orders), with_health)


async def _extra_sql(engine: AsyncEngine, batch: Callable[[bool], Awaitable[object]]) -> int:
    """Statements with health checks minus without, for the same kind of batch."""
    counts = []
    for with_health in (False, True):
        seen: list[int] = []

        def record(*args: object, seen: list[int] = seen) -> None:
            seen.append(1)

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            await batch(with_health)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", record)
        counts.append(len(seen))
    return counts[1] - counts[0]
