"""Cards written by ingestion and by the inbox's dead-letter path, on both databases.

- Healthy batches with chat installed run exactly the SQL statements they run without it:
  the common path pays nothing for cards.
- Every dead-letter path announces to ops in the same transaction: unknown inbox kinds,
  undecodable chat items, domain rejections; the same envelope again announces nothing.
- Pacing: after ``limit`` cards in a window the rest wait for the window's digest, which is
  sent once (compare-and-set), after the window closed, counting every letter by source.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.audience import Audience
from core.card_pacing import Pacing
from core.inbox import Envelope
from core.ingest import Arrival
from core.order import Order
from core.payloads import RawPayload
from core.people import Directory, Person, Role
from core.states import OrderState
from handlers.chat_deps import CardSettings, ChatDeps
from handlers.dead_letter_digest import send_dead_letter_digests
from handlers.ingest_order import IngestOrders, _write, ingest_orders
from handlers.process_inbox import InboxDeps, process_batch
from storage.uow import SqlUnitOfWork
from tests.factories import T0, make_order

UowFactory = Callable[[], SqlUnitOfWork]
STAFF = (Person("a1", "客服一", frozenset({Role.AGENT})),
         Person("o1", "运营一", frozenset({Role.OPS})),
         Person("o2", "运营二", frozenset({Role.OPS})),
         Person("w1", "仓库", frozenset({Role.WAREHOUSE})))


class NoChannels:
    async def parse(self, payload: RawPayload) -> list[Order]:
        raise AssertionError("no channel payloads in these tests")


def chat(new_uow: UowFactory, **settings: Any) -> ChatDeps:
    return ChatDeps(Directory(STAFF), new_uow, cards=CardSettings(**settings))  # type: ignore[arg-type]


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: object, cursor: object, sql: str, *args: object) -> None:
        seen.append(sql.split()[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def doc_of(value: Any) -> dict[str, Any]:
    """A JSON column as read back (PostgreSQL: a dict; SQLite: its text)."""
    return dict(value) if isinstance(value, dict) else dict(json.loads(value))


async def rows(engine: AsyncEngine, sql: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql))).all()]


async def test_healthy_batches_cost_no_extra_sql_with_chat(new_uow: UowFactory,
                                                           engine: AsyncEngine) -> None:
    deps = chat(new_uow)
    batches = {False: [make_order(n) for n in range(50)],
               True: [make_order(n) for n in range(100, 150)]}
    counted: dict[bool, list[int]] = {}
    for with_chat, orders in batches.items():
        counted[with_chat] = []
        for batch in (orders, [replace(o, remark="改了备注") for o in orders]):  # new, update
            with statements(engine) as seen:
                await ingest_orders(IngestOrders([Arrival(o, "t") for o in batch], T0), new_uow,
                                    deps if with_chat else None)
            counted[with_chat].append(len(seen))
    assert counted[True] == counted[False]
    assert await rows(engine, "SELECT count(*) FROM outbox") == [(0,)]


async def test_a_new_order_card_only_for_new_orders(new_uow: UowFactory,
                                                    engine: AsyncEngine) -> None:
    deps = chat(new_uow, new_order=Audience(role=Role.WAREHOUSE))
    order = make_order(1)
    for version in (order, replace(order, remark="加急")):
        await ingest_orders(IngestOrders([Arrival(version, "t")], T0), new_uow, deps)
    assert await rows(engine, "SELECT conversation, order_id IS NOT NULL FROM outbox") == \
        [("w1", True)]


def envelope(kind: str, payload: dict[str, Any], attempts: int = 1) -> Envelope:
    return Envelope(kind=kind, dedup_key=f"k:{kind}", payload=payload, received_at=T0,
                    attempts=attempts)


async def test_inbox_dead_letters_reach_ops_once(new_uow: UowFactory,
                                                 engine: AsyncEngine) -> None:
    deps = InboxDeps(NoChannels(), new_uow, chat=chat(new_uow))
    batch = [envelope("fax_received", {"pages": 3}),
             envelope("receive_text", {"platform": "webchat"})]  # no sender, no text
    for attempts in (1, 2):  # processed, then reclaimed and processed again
        await process_batch([replace(e, attempts=attempts) for e in batch], deps, now=T0)
    letters = await rows(engine, "SELECT source FROM dead_letters ORDER BY id")
    assert letters == [("inbox:fax_received",), ("inbox:receive_text",)]
    sent = await rows(engine, "SELECT o.conversation, c.ref FROM outbox o JOIN cards c "
                              "ON c.card_id = o.card_id ORDER BY o.id")
    ids = [str(i) for (i,) in await rows(engine, "SELECT id FROM dead_letters ORDER BY id")]
    assert sent == [("o1", ids[0]), ("o2", ids[0]), ("o1", ids[1]), ("o2", ids[1])]


async def test_a_domain_rejection_reaches_ops(new_uow: UowFactory, engine: AsyncEngine) -> None:
    deps = chat(new_uow)
    cancelled = make_order(3, status=OrderState.CANCELLED)
    delivered = make_order(3, status=OrderState.DELIVERED)
    for order in (cancelled, delivered, delivered):
        await ingest_orders(IngestOrders([Arrival(order, "webhook:taobao")], T0), new_uow, deps)
    (card,) = await rows(engine, "SELECT doc FROM cards WHERE kind = 'dead_letter'")
    assert "cancelled" in doc_of(card[0])["body"] and "delivered" in doc_of(card[0])["body"]


async def test_dead_letters_past_the_limit_wait_for_one_digest(
    new_uow: UowFactory, engine: AsyncEngine
) -> None:
    pacing = Pacing(limit=2, window_s=600)
    deps = InboxDeps(NoChannels(), new_uow, chat=chat(new_uow, dead_letters=pacing))
    start = pacing.window_of(T0)
    for n in range(5):
        await process_batch([envelope(f"kind_{n}", {})], deps, now=start + timedelta(seconds=n))
    singles = await rows(engine, "SELECT doc FROM cards WHERE kind = 'dead_letter'")
    assert len(singles) == 2 and "汇总为一张卡片" in doc_of(singles[1][0])["body"]
    assert deps.chat is not None
    inside = start + timedelta(seconds=599)
    assert await send_dead_letter_digests(deps.chat, now=inside) == 0  # window still open
    after = start + timedelta(seconds=601)
    assert await send_dead_letter_digests(deps.chat, now=after) == 1
    assert await send_dead_letter_digests(deps.chat, now=after) == 0  # sent once
    (digest,) = await rows(engine, "SELECT doc FROM cards WHERE ref LIKE 'window:%'")
    doc = doc_of(digest[0])
    assert doc["title"] == "死信汇总：5 条"
    assert "其余 3 条" in doc["body"] and "inbox:kind_4 × 1" in doc["body"]
    recipients = await rows(engine, "SELECT count(*) FROM outbox WHERE conversation IN "
                                    "('o1', 'o2')")
    assert recipients == [(6,)]  # 2 singles + 1 digest, to both ops people


async def test_twins_in_two_concurrent_batches(new_uow: UowFactory, engine: AsyncEngine) -> None:
    """Two workers store two twins at the same moment, each in its own batch: the batch that
    commits second must still see the first. SQLite serialises writers (BEGIN IMMEDIATE), so
    it does. On PostgreSQL (READ COMMITTED) the second batch's candidate query cannot see the
    first's uncommitted row, so the candidate check takes an advisory lock per (phone, goods)
    group: the second batch waits for the first to commit, then flags its twin."""
    deps = chat(new_uow)
    original = make_order(9, channel="youzan")
    twin = replace(original, channel="jd", channel_order_id="88009001",
                   created_at=original.created_at + timedelta(seconds=40))
    async with new_uow() as first:
        await _write(IngestOrders([Arrival(original, "webhook:youzan")], T0), first)
        second = asyncio.create_task(
            ingest_orders(IngestOrders([Arrival(twin, "webhook:jd")], T0), new_uow, deps))
        for _ in range(50):  # until the second batch is done, or blocked behind the first
            if second.done():
                break
            await asyncio.sleep(0.1)
        await first.commit()
    await second
    flagged = await rows(engine, "SELECT order_key FROM anomalies "
                                 "WHERE code = 'SUSPECTED_DUPLICATE'")
    assert flagged == [(twin.key,)]
