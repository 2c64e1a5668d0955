"""Gated actions through the real service: web chat pages, HTTP, inbox workers, outbox.

Transcript (SQLite + SQL inbox): 张三 (agent) types "申请取消 <id> 客户来电取消" and is told the
proposal is filed; both supervisors (李四, 钱七) get the card live, with the accuracy line; 王五
(warehouse) taps 确认 and is refused politely; 李四 confirms; the order is cancelled once, every
supervisor's card is updated to "已由 李四 确认 HH:MM" without buttons, 张三 is told; 钱七's
tap afterwards is told it was handled. A proposal nobody decides expires at its (shortened)
deadline by its durable timer (``gate.expire``): both cards say so and 张三 is told.

Concurrency: twenty supervisors tap 确认 at the same moment through ``/chat/api/click`` -> the
clicks go through the inbox to several workers (two service instances on PostgreSQL + Redis
Streams, and one instance on SQLite) -> exactly one cancellation event.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Config, DatabaseConfig, InboxConfig
from bot.gating_config import GatingConfig
from bot.outbox_sender import SenderSettings
from bot.people_config import PersonConfig
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWork
from tests.conftest import fresh_engine
from tests.contract.gate_support import events, ingest
from tests.e2e.chat_support import Page, chat_service
from tests.factories import make_order
from tests.redis_support import REDIS_URL, redis_for_test

ORDER = make_order(21)
OTHER = make_order(22)
STAFF = (
    PersonConfig(id="zhangsan", name="张三", roles=("agent",)),
    PersonConfig(id="lisi", name="李四", roles=("supervisor", "agent")),
    PersonConfig(id="qianqi", name="钱七", roles=("supervisor",)),
    PersonConfig(id="wangwu", name="王五", roles=("warehouse",)),
)
BOSSES = tuple(PersonConfig(id=f"boss{n:02d}", name=f"主管{n:02d}", roles=("supervisor",))
               for n in range(20))
FAST = SenderSettings(poll_s=0.05)
T = TypeVar("T")


def uow_factory(engine: AsyncEngine) -> Any:
    sessions = session_factory(engine)
    return lambda: SqlUnitOfWork(sessions)


async def test_agent_proposes_supervisor_confirms_in_the_web_chat(sqlite_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    engine = create_engine(sqlite_url)
    await ingest(uow_factory(engine), ORDER, OTHER)
    gating = GatingConfig(cancel_deadline_min=30.0)
    config = Config(database=DatabaseConfig(url=sqlite_url), gating=gating,
                    inbox=InboxConfig(backend="sql", reclaim_idle_s=2.0, poll_ms=20))
    async with chat_service(config, monkeypatch, settings=FAST, people=STAFF) as base, \
            aiohttp.ClientSession() as session:
        agent, boss, boss2, warehouse = [await Page(session, base, p.id).open() for p in STAFF]
        assert await agent.say(f"申请取消 {ORDER.channel_order_id} 客户来电取消") == 202
        filed = (await agent.next_of("text"))["payload"]["text"]
        assert filed.startswith("已提交「取消订单」提议 #") and "等待主管确认" in filed
        card = (await boss.next_of("card"))["payload"]["card"]
        assert (await boss2.next_of("card"))["payload"]["card"]["card_id"] == card["card_id"]
        assert card["title"] == "待确认：取消订单" and "原因：客户来电取消" in card["body"]
        assert "取消订单 建议准确率" in card["body"] and ["提议人", "张三"] in card["fields"]

        await warehouse.click(card, "gate_confirm")
        assert "需要主管确认" in (await warehouse.next_of("text"))["payload"]["text"]
        await boss.click(card, "gate_confirm")
        mine = (await boss.next_of("card_update"))["payload"]["card"]
        theirs = (await boss2.next_of("card_update"))["payload"]["card"]
        assert mine["status"].startswith("已由 李四 确认 ") and mine["buttons"] == []
        assert theirs["status"] == mine["status"] and "结果：订单已取消" in theirs["body"]
        told = (await agent.next_of("text"))["payload"]["text"]
        assert "已被 李四 确认：订单已取消" in told
        await boss2.click(card, "gate_confirm")  # a stale copy's button, tapped anyway
        assert (await boss2.next_of("text"))["payload"]["text"] == "此卡片已由 李四 处理"
        assert await events(engine, ORDER.key, "state_changed", to="cancelled") == 1

    await engine.dispose()


async def test_undecided_proposal_expires_and_everyone_is_told(sqlite_url: str,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """Deadline shortened to ~1 s; the timer worker fires ``gate.expire``."""
    engine = create_engine(sqlite_url)
    await ingest(uow_factory(engine), OTHER)
    config = Config(database=DatabaseConfig(url=sqlite_url),
                    gating=GatingConfig(cancel_deadline_min=1 / 60),
                    inbox=InboxConfig(backend="sql", reclaim_idle_s=2.0, poll_ms=20))
    async with chat_service(config, monkeypatch, settings=FAST, people=STAFF) as base, \
            aiohttp.ClientSession() as session:
        agent, boss, boss2 = [await Page(session, base, p.id).open() for p in STAFF[:3]]
        await agent.say(f"申请取消 {OTHER.channel_order_id} 重复下单")
        assert "已提交" in (await agent.next_of("text"))["payload"]["text"]
        card = (await boss.next_of("card"))["payload"]["card"]
        expired = (await boss.next_of("card_update"))["payload"]["card"]
        assert expired["card_id"] == card["card_id"] and expired["status"].startswith("已过期")
        assert expired["buttons"] == [] and "未执行" in expired["body"]
        await boss2.next_of("card")
        assert (await boss2.next_of("card_update"))["payload"]["card"]["buttons"] == []
        assert "已过期，未执行" in (await agent.next_of("text"))["payload"]["text"]
        await boss.click(card, "gate_confirm")
        assert (await boss.next_of("text"))["payload"]["text"] == "此提议已过期，未执行。"
    assert await events(engine, OTHER.key, "state_changed") == 0
    assert await events(engine, OTHER.key, "gate_expired") == 1
    await engine.dispose()


async def _twenty_taps(bases: list[str], engine: AsyncEngine) -> None:
    """File a cancel, then twenty supervisors tap 确认 at once, spread over ``bases`` (the
    clicks reach the inbox through whichever instance, and any worker may take each)."""
    async with aiohttp.ClientSession() as session:
        await Page(session, bases[0], "zhangsan").say(
            f"申请取消 {ORDER.channel_order_id} 客户要求取消")
        card = await _wait(lambda: _gate_card(engine))
        pages = [Page(session, bases[n % len(bases)], b.id) for n, b in enumerate(BOSSES)]
        statuses = await asyncio.gather(*(page.click(card, "gate_confirm") for page in pages))
    assert statuses == [202] * len(pages)
    holders = 2 + len(BOSSES)  # 李四, 钱七 and the twenty
    told = await _wait(lambda: _handled_texts(engine, at_least=len(BOSSES) - 1))
    assert len(told) == len(BOSSES) - 1 and len(set(told)) == 1  # all name the same winner
    assert await _count(engine, "SELECT count(*) FROM outbox WHERE kind = 'card_update'"
                        ) == holders  # every copy updated once
    assert await events(engine, ORDER.key, "state_changed", to="cancelled") == 1
    assert await events(engine, ORDER.key, "gate_confirmed") == 1
    assert await _count(engine, "SELECT count(*) FROM gate_proposals WHERE state = 'executed'"
                        ) == 1


async def _gate_card(engine: AsyncEngine) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT doc FROM cards WHERE kind = 'gate' ORDER BY created_at LIMIT 1"))).first()
    if row is None:
        return None
    doc = row[0]
    return dict(json.loads(doc) if isinstance(doc, str) else doc)


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def _handled_texts(engine: AsyncEngine, at_least: int) -> list[str]:
    """The "此卡片已由 X 处理" replies written so far (once there are ``at_least``)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT payload FROM outbox WHERE kind = 'text'"))
                ).scalars().all()
    texts = [str((json.loads(r) if isinstance(r, str) else r)["text"]) for r in rows]
    handled = [t for t in texts if t.startswith("此卡片已由 ")]
    return handled if len(handled) >= at_least else []


async def _wait(probe: Callable[[], Awaitable[T | None]], within: float = 30) -> T:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await probe()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"nothing after {within}s"
        await asyncio.sleep(0.1)


async def test_twenty_simultaneous_confirmations_on_sqlite(sqlite_url: str,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    engine = create_engine(sqlite_url)
    await ingest(uow_factory(engine), ORDER)
    config = Config(database=DatabaseConfig(url=sqlite_url),
                    inbox=InboxConfig(backend="sql", workers=4, batch=1, poll_ms=10))
    async with chat_service(config, monkeypatch, settings=FAST,
                            people=(*STAFF, *BOSSES)) as base:
        await _twenty_taps([base], engine)
    await engine.dispose()


async def test_twenty_simultaneous_confirmations_on_postgres_and_redis(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = await fresh_engine(pg_url)
    await ingest(uow_factory(engine), ORDER)
    async with redis_for_test() as (_, prefix), AsyncExitStack() as stack:
        inbox = InboxConfig(backend="redis", redis_url=REDIS_URL, stream_prefix=prefix,
                            workers=4, batch=1, poll_ms=10)
        config = Config(database=DatabaseConfig(url=pg_url), inbox=inbox)
        bases = [await stack.enter_async_context(chat_service(
            config, monkeypatch, settings=FAST, people=(*STAFF, *BOSSES)))
            for _ in range(2)]  # two service instances: 8 workers on one consumer group
        await _twenty_taps(bases, engine)
    await engine.dispose()
