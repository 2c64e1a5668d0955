"""What announcing cards costs ingestion: the real ingest use case into PostgreSQL, without
chat and with chat installed (as every `orderbot run` / `orderbot worker` now runs it), for
batches of healthy orders (the common case: no card) and batches where every order is a
cross-channel duplicate (a card each, to the agents).

CPU of this process per order (``time.process_time``), not wall time: the database and the
other processes on a shared 2-core machine move wall time around far more than the code
under test does. Rounds alternate which variant goes first; the best round of each counts.

Figures: ``ingest_cpu_us_per_order`` (no chat), ``ingest_chat_cpu_us_per_order`` (chat
installed, healthy orders: should match the first; on a busy machine rounds still differ by
±20%, so ``ingest_chat_extra_sql_per_batch`` counts what the database is asked: the SQL
statements a healthy 500-order batch runs with chat minus without, 0 when the common path pays
nothing), ``duplicate_card_cpu_us`` (extra CPU per suspected-duplicate card written in the
ingest transaction: the card row and one outbox row per agent).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import Figure, postgres_database
from core.ingest import Arrival
from core.order import Order
from core.people import Directory, Person, Role
from handlers.ingest_order import IngestOrders, ingest_orders
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWork
from tests.factories import make_order

ROUNDS, PER_ROUND, BATCH = 6, 1_500, 500
STAFF = (Person("a1", "客服一", frozenset({Role.AGENT})),
         Person("a2", "客服二", frozenset({Role.AGENT, Role.SUPERVISOR})),
         Person("o1", "运营", frozenset({Role.OPS})))


def twin(order: Order) -> Order:
    """The same buyer and goods on another channel, 40 s later: a suspected duplicate."""
    return replace(order, channel="jd", channel_order_id="9" + order.channel_order_id[1:],
                   created_at=order.created_at + timedelta(seconds=40))


async def run() -> list[Figure]:
    supports_chat = "chat" in inspect.signature(ingest_orders).parameters  # (older trees)
    async with postgres_database("orderbot_bench_ingest_chat") as url:
        engine = create_engine(url)
        sessions = session_factory(engine)
        new_uow = lambda: SqlUnitOfWork(sessions)  # noqa: E731
        chat = _chat(new_uow) if supports_chat else None
        at = datetime.now(UTC)
        next_n = iter(range(10**9))

        async def cpu_per_order(orders: list[Order], with_chat: bool) -> float:
            started = time.process_time()
            for i in range(0, len(orders), BATCH):
                arrivals = [Arrival(o, "bench") for o in orders[i:i + BATCH]]
                if with_chat:
                    await ingest_orders(IngestOrders(arrivals, at), new_uow, chat)
                else:
                    await ingest_orders(IngestOrders(arrivals, at), new_uow)
            return (time.process_time() - started) / len(orders) * 1e6

        def fresh(count: int) -> list[Order]:
            return [make_order(next(next_n) + 1_000_000) for _ in range(count)]

        try:
            plain: list[float] = []
            chatty: list[float] = []
            dup_plain: list[float] = []
            dup_chat: list[float] = []
            for n in range(ROUNDS):
                variants = [False, True] if chat is not None else [False]
                for with_chat in variants[::1 if n % 2 == 0 else -1]:  # take turns first
                    (chatty if with_chat else plain).append(
                        await cpu_per_order(fresh(PER_ROUND), with_chat))
                if chat is not None:
                    await _seed(fresh, cpu_per_order, dup_plain, dup_chat)
            extra_sql = await _extra_sql(engine, fresh, cpu_per_order)
        finally:
            await engine.dispose()
    figures = [Figure("ingest_cpu_us_per_order", round(min(plain)), "us")]
    if chatty:
        figures += [Figure("ingest_chat_cpu_us_per_order", round(min(chatty)), "us"),
                    Figure("ingest_chat_extra_sql_per_batch", extra_sql, "statements"),
                    Figure("duplicate_card_cpu_us", round(min(dup_chat) - min(dup_plain)),
                           "us")]
    return figures


async def _seed(fresh: Callable[[int], list[Order]],
                cpu_per_order: Callable[[list[Order], bool], Awaitable[float]],
                dup_plain: list[float], dup_chat: list[float]) -> None:
    """Store originals, then time their twins (every one a duplicate) without and with chat."""
    for bucket, with_chat in ((dup_plain, False), (dup_chat, True)):
        originals = fresh(PER_ROUND // 3)
        await cpu_per_order(originals, False)
        bucket.append(await cpu_per_order([twin(o) for o in originals], with_chat))


async def _extra_sql(engine: AsyncEngine, fresh: Callable[[int], list[Order]],
                     cpu_per_order: Callable[[list[Order], bool], Awaitable[float]]) -> int:
    counts = []
    for with_chat in (False, True):
        seen: list[str] = []
        record = _recorder(seen)

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            await cpu_per_order(fresh(BATCH), with_chat)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", record)
        counts.append(len(seen))
    return counts[1] - counts[0]


def _recorder(seen: list[str]) -> Callable[..., None]:
    def record(*args: object) -> None:
        seen.append("")

    return record


def _chat(new_uow: Callable[[], SqlUnitOfWork]) -> object:
    from handlers.chat_deps import ChatDeps

    return ChatDeps(Directory(STAFF), new_uow, platforms=("webchat",))  # type: ignore[arg-type]
