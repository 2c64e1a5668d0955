"""The outbox repository contract on SQLite and PostgreSQL: heads per conversation, in order,
leases, backoff, permanent failure, latency, card holders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.chat import Card
from core.outbox import Outgoing, OutKind, Sent, card_message, text_message
from storage.db import session_factory
from storage.outbox_wakeups import listen
from storage.uow import SqlUnitOfWork
from tests.conftest import fresh_engine
from tests.factories import T0

UowFactory = Callable[[], SqlUnitOfWork]


async def add(new_uow: UowFactory, *messages: Outgoing) -> list[int]:
    async with new_uow() as uow:
        ids = await uow.outbox.add(messages, at=T0)
        await uow.commit()
    return ids


async def claim(new_uow: UowFactory, *, after_s: float = 0, limit: int = 10):  # type: ignore[no-untyped-def]
    async with new_uow() as uow:
        items = await uow.outbox.claim(now=T0 + timedelta(seconds=after_s), lease_s=30,
                                       limit=limit)
        await uow.commit()
    return items


async def test_only_heads_are_claimed_in_order(new_uow: UowFactory) -> None:
    ids = await add(new_uow, text_message("webchat", "a", "1"), text_message("webchat", "b", "1"),
                    text_message("webchat", "a", "2"))
    first = await claim(new_uow)
    assert [i.id for i in first] == [ids[0], ids[1]]
    assert all(i.attempts == 1 for i in first)
    assert await claim(new_uow) == []  # heads leased: their conversations wait
    async with new_uow() as uow:
        await uow.outbox.mark_sent([Sent(first[0], T0 + timedelta(milliseconds=250))])
        await uow.commit()
    second = await claim(new_uow)
    assert [(i.id, i.message.payload["text"]) for i in second] == [(ids[2], "2")]


async def test_failed_head_blocks_its_conversation_only(new_uow: UowFactory) -> None:
    ids = await add(new_uow, text_message("wecom", "a", "1"), text_message("wecom", "a", "2"),
                    text_message("wecom", "b", "1"))
    a1, b1 = await claim(new_uow)
    async with new_uow() as uow:
        await uow.outbox.mark_failed(a1, error="HTTP 503",
                                     next_attempt_at=T0 + timedelta(seconds=5))
        await uow.outbox.mark_sent([Sent(b1, T0)])
        await uow.commit()
    assert await claim(new_uow, after_s=1) == []
    retried = await claim(new_uow, after_s=5)
    assert [(i.id, i.attempts) for i in retried] == [(ids[0], 2)]


async def test_permanent_failure_lets_the_conversation_move_on(new_uow: UowFactory) -> None:
    ids = await add(new_uow, text_message("wecom", "a", "1"), text_message("wecom", "a", "2"))
    (head,) = await claim(new_uow)
    async with new_uow() as uow:
        await uow.outbox.mark_failed(head, error="invalid user", next_attempt_at=None)
        await uow.commit()
    assert [i.id for i in await claim(new_uow)] == [ids[1]]


async def test_expired_lease_is_claimed_again(new_uow: UowFactory) -> None:
    await add(new_uow, text_message("webchat", "a", "1"))
    (first,) = await claim(new_uow)
    (again,) = await claim(new_uow, after_s=31)
    assert again.id == first.id and again.attempts == 2


async def test_sent_rows_record_latency_and_ref_and_card_holders(new_uow: UowFactory,
                                                                 engine: AsyncEngine) -> None:
    card = Card(card_id="od-1", title="订单")
    await add(new_uow, card_message("wecom", "u1", card, order_key="taobao:none"),
              card_message("webchat", "p1", card), card_message("wecom", "u1", card, update=True))
    items = await claim(new_uow)
    async with new_uow() as uow:
        await uow.outbox.mark_sent([Sent(items[0], T0 + timedelta(milliseconds=120), "rc-1")])
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.outbox.holders("od-1") == [("wecom", "u1"), ("webchat", "p1")]
        assert await uow.outbox.delivery_ref("od-1", "wecom", "u1") == "rc-1"
        history = await uow.outbox.recent("wecom", "u1")
    assert [(h.message.kind, h.message.card_id) for h in history] == [(OutKind.CARD, "od-1")]
    assert items[0].message.payload["card"]["title"] == "订单"
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT status, latency_ms, order_id FROM outbox WHERE id = :id"),
            {"id": items[0].id})).one()
    assert tuple(row) == ("sent", 120, None)


async def test_a_round_of_deliveries_is_recorded_row_by_row(new_uow: UowFactory,
                                                             engine: AsyncEngine) -> None:
    ids = await add(new_uow, text_message("wecom", "a", "1"), text_message("wecom", "b", "1"))
    a, b = await claim(new_uow)
    async with new_uow() as uow:
        await uow.outbox.mark_sent([Sent(a, T0 + timedelta(milliseconds=80), "rc-a"),
                                    Sent(b, T0 + timedelta(milliseconds=300))])
        await uow.commit()
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT id, status, latency_ms, delivery_ref FROM outbox ORDER BY id"))).all()
    assert [tuple(r) for r in rows] == [(ids[0], "sent", 80, "rc-a"), (ids[1], "sent", 300, None)]


async def test_racing_senders_never_both_lease_a_row(pg_url: str) -> None:
    """The claim is one UPDATE: a sender blocked behind another's uncommitted lease must
    skip those rows once it commits (PostgreSQL re-checks the conditions on the new row)."""
    engine = await fresh_engine(pg_url)
    sessions = session_factory(engine)
    try:
        ids = await add(lambda: SqlUnitOfWork(sessions), text_message("wecom", "a", "1"),
                        text_message("wecom", "b", "1"), text_message("wecom", "c", "1"))
        async with SqlUnitOfWork(sessions) as first:
            won = await first.outbox.claim(now=T0, lease_s=30, limit=10)
            second = asyncio.create_task(claim(lambda: SqlUnitOfWork(sessions)))
            await asyncio.sleep(0.3)
            assert not second.done()  # waiting on the rows the first sender holds
            await first.commit()
        assert [i.id for i in won] == ids
        assert await second == []
        async with engine.connect() as conn:
            attempts = (await conn.execute(text("SELECT attempts FROM outbox"))).scalars()
            assert list(attempts) == [1, 1, 1]
    finally:
        await engine.dispose()


async def _woken(event: asyncio.Event, within: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(event.wait(), within)
    except TimeoutError:
        return False
    return True


async def test_a_commit_in_another_process_wakes_the_listening_sender(pg_url: str) -> None:
    """``SqlOutbox.add`` notifies; the notification arrives at commit, never on rollback."""
    engine = await fresh_engine(pg_url)
    sessions = session_factory(engine)
    woken = asyncio.Event()
    listening = asyncio.create_task(listen(pg_url, woken.set, retry_s=0.1))
    try:
        assert await _woken(woken)  # once on connecting: rows may wait from before
        woken.clear()
        async with SqlUnitOfWork(sessions) as uow:
            await uow.outbox.add([text_message("wecom", "a", "1")], at=T0)
        assert not await _woken(woken, 0.3)  # rolled back: nothing to send
        async with SqlUnitOfWork(sessions) as uow:
            await uow.outbox.add([text_message("wecom", "a", "1")], at=T0)
            assert not await _woken(woken, 0.3)  # not before the commit
            await uow.commit()
        assert await _woken(woken)
        woken.clear()
        async with engine.connect() as conn:  # the listening connection dies
            await conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = current_database() "
                                    "AND query LIKE 'LISTEN%'"))
        assert await _woken(woken)  # reconnected (and woken for what it may have missed)
        woken.clear()
        await add(lambda: SqlUnitOfWork(sessions), text_message("wecom", "b", "1"))
        assert await _woken(woken)
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await engine.dispose()
