"""The web chat through the real service (SQLite + SQL inbox, real HTTP and websockets).

Transcript: 张三 (agent) types an order number and gets the order card live; 张三 taps "不是重复"
on a suspected-duplicate card twice: one effect, one order event, and every holder's card
updated; 王五 (warehouse) is refused (both buttons); a customer is answered politely. (What
"确认重复" does, a gated merge, is tests/e2e/test_duplicate_merge.py.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import text

from bot.config import Config, DatabaseConfig, InboxConfig
from core.anomalies import AnomalyCode
from core.ingest import Arrival
from handlers.announce import announce_duplicate
from handlers.chat_deps import ChatDeps
from handlers.ingest_order import IngestOrders, ingest_orders
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWork
from tests.e2e.chat_support import PEOPLE, Page, chat_service
from tests.factories import T0, make_order

ORDER = make_order(7)
TWIN = make_order(7, channel="jd", created_at=ORDER.created_at + timedelta(seconds=40))


@pytest.fixture
async def service(sqlite_url: str, monkeypatch: pytest.MonkeyPatch
                  ) -> AsyncIterator[tuple[str, str]]:
    config = Config(database=DatabaseConfig(url=sqlite_url),
                    inbox=InboxConfig(backend="sql", reclaim_idle_s=2.0))
    async with chat_service(config, monkeypatch) as base:
        yield base, sqlite_url


async def test_staff_gets_an_order_card_by_typing_its_number(service: tuple[str, str]) -> None:
    base, url = service
    await _ingest(url, ORDER)
    async with aiohttp.ClientSession() as session:
        page = await Page(session, base, "zhangsan").open()
        assert await page.say(f"查单 {ORDER.channel_order_id}") == 202
        card = (await page.next_of("card"))["payload"]["card"]
        assert card["title"] == f"订单 {ORDER.key}"
        fields = dict(card["fields"])
        assert fields["状态"] == "已付款" and "138****" in fields["收件人"]
        assert "文三路" not in fields["地址"]  # the street is masked
        assert await page.say("查单 999") == 202
        assert "没有找到订单 999" in (await page.next_of("text"))["payload"]["text"]
        customer = await Page(session, base, "customer").open()
        await customer.say("我的快递到哪了")
        assert "订单助手" in (await customer.next_of("text"))["payload"]["text"]


async def test_duplicate_card_acts_once_for_the_right_role(service: tuple[str, str]) -> None:
    base, url = service
    await _ingest(url, ORDER)
    await _ingest(url, TWIN)
    async with aiohttp.ClientSession() as session:
        agent = await Page(session, base, "zhangsan").open()
        supervisor = await Page(session, base, "lisi").open()
        warehouse = await Page(session, base, "wangwu").open()
        await _announce(url)
        card = (await agent.next_of("card"))["payload"]["card"]
        assert (await supervisor.next_of("card"))["payload"]["card"]["card_id"] == card["card_id"]

        await warehouse_click_is_refused(warehouse, card)
        await warehouse.click(card, "confirm_duplicate")
        assert "需要客服或主管权限" in (await warehouse.next_of("text"))["payload"]["text"]

        await agent.click(card, "not_duplicate")
        await agent.click(card, "not_duplicate")  # the double tap
        updated = (await agent.next_of("card_update"))["payload"]["card"]
        assert updated["status"].startswith("已由 张三 确认不是重复") and not updated["buttons"]
        assert updated["version"] == card["version"] + 1
        assert "此卡片已由 张三 处理" in (await agent.next_of("text"))["payload"]["text"]
        other = (await supervisor.next_of("card_update"))["payload"]["card"]
        assert other["status"] == updated["status"]
    assert await _events(url, TWIN.key, "anomaly_resolved") == 1
    assert await _open_anomalies(url, TWIN.key) == 0


async def warehouse_click_is_refused(page: Page, card: dict[str, object]) -> None:
    await page.click(card, "not_duplicate")  # type: ignore[arg-type]
    assert "需要客服或主管权限" in (await page.next_of("text"))["payload"]["text"]


async def _ingest(url: str, order: object) -> None:
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        await ingest_orders(IngestOrders([Arrival(order, "test")], T0),  # type: ignore[arg-type]
                            lambda: SqlUnitOfWork(sessions))
    finally:
        await engine.dispose()


async def _announce(url: str) -> None:
    """What ingestion will do once it is wired: a card per new SUSPECTED_DUPLICATE."""
    from bot.people_config import build_directory

    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        deps = ChatDeps(build_directory(PEOPLE), lambda: SqlUnitOfWork(sessions))  # type: ignore[arg-type, return-value]
        async with SqlUnitOfWork(sessions) as uow:
            (anomaly,) = [a for a in await uow.anomalies.for_order(TWIN.key)
                          if a.code is AnomalyCode.SUSPECTED_DUPLICATE]
            await announce_duplicate(uow, anomaly, deps,  # type: ignore[arg-type]
                                     now=datetime.now(UTC))  # the SLA timer runs from now
            await uow.commit()
    finally:
        await engine.dispose()


async def _scalar(url: str, sql: str, **params: object) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(sql), params)).scalar_one())
    finally:
        await engine.dispose()


async def _events(url: str, key: str, kind: str) -> int:
    return await _scalar(url, "SELECT count(*) FROM order_events WHERE order_key = :k AND "
                              "kind = :kind", k=key, kind=kind)


async def _open_anomalies(url: str, key: str) -> int:
    return await _scalar(url, "SELECT count(*) FROM anomalies WHERE order_key = :k AND "
                              "status = 'open'", k=key)
