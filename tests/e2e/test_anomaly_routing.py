"""A/B/C anomalies through the real service (SQLite, SQL inbox, web chat, SLA timer worker),
with an injected clock: "two minutes later" moves the clock instead of sleeping.

Transcript: an order without a street address gets an A card to the agents; two minutes
untouched, the supervisor gets a new "【升级】" card and the agents' card says "已升级给主管";
张三 taps "已补录", the bot asks for the address, 张三 replies with it: the order's address is
updated (event), the anomaly closed, both cards closed, the timer gone. A B card offers the
in-stock substitute, one tap changes the order's lines. A C freeze holds the order (a channel
push advancing it is refused) until the anomaly is resolved by id (what the confirmed gated
"release" calls); then the push goes through. ``/metrics`` shows the figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import pytest

from bot.anomaly_wiring import anomaly_settings
from bot.app import build_app
from bot.config import Config, DatabaseConfig, InboxConfig
from bot.people_config import build_directory
from bot.routing_config import SubstituteConfig
from core.anomalies import AnomalyCode, Resolution
from core.ingest import Arrival
from core.order import Receiver
from core.states import OrderState
from handlers.anomaly_actions import resolve_anomaly
from handlers.chat_deps import ChatDeps
from handlers.ingest_order import IngestOrders, ingest_orders
from handlers.open_anomaly import OpenAnomaly, open_anomalies
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWork
from tests.e2e.chat_store import value
from tests.e2e.chat_support import ANOMALY_PEOPLE, Page, ServiceClock, serve
from tests.factories import make_order


@dataclass
class Service:
    base: str
    url: str
    clock: ServiceClock
    config: Config

    async def scalar(self, sql: str, **params: object) -> Any:
        return await value(self.url, sql, **params)

    async def with_deps(self, use: Callable[[ChatDeps], Any]) -> Any:
        """The use cases with the same staff and routing the service has."""
        engine = create_engine(self.url)
        try:
            sessions = session_factory(engine)
            deps = ChatDeps(build_directory(ANOMALY_PEOPLE), lambda: SqlUnitOfWork(sessions),  # type: ignore[arg-type, return-value]
                            anomalies=anomaly_settings(self.config))
            return await use(deps)
        finally:
            await engine.dispose()

    async def ingest(self, order: Any) -> Any:
        engine = create_engine(self.url)
        try:
            sessions = session_factory(engine)
            return await ingest_orders(IngestOrders([Arrival(order, "test")], self.clock()),
                                       lambda: SqlUnitOfWork(sessions))
        finally:
            await engine.dispose()

    async def open(self, key: str, code: AnomalyCode, reason: str, **data: Any) -> int:
        opened = await self.with_deps(lambda deps: open_anomalies(
            [OpenAnomaly(key, code, reason, data)], deps, now=self.clock()))
        return int(opened[0].id)


@pytest.fixture
async def service(sqlite_url: str) -> AsyncIterator[Service]:
    clock = ServiceClock()
    config = Config(database=DatabaseConfig(url=sqlite_url),
                    inbox=InboxConfig(backend="sql", reclaim_idle_s=2.0), people=ANOMALY_PEOPLE,
                    substitutes=(SubstituteConfig("SKU-0002", ("ALT-OUT", "ALT-IN")),))
    async with serve(build_app(config, clock=clock)) as base:
        yield Service(base, sqlite_url, clock, config)


async def until_text(page: Page, words: str) -> list[dict[str, Any]]:
    """Card updates received before the text containing ``words``."""
    updates = []
    while True:
        event = await page.next_event()
        if event["kind"] == "card_update":
            updates.append(event)
        elif event["kind"] == "text" and words in event["payload"]["text"]:
            return updates


async def test_a_card_escalates_and_one_fix_closes_both(service: Service) -> None:
    order = make_order(21, receiver=Receiver(name="王五", phone="13812345678",
                                             province="浙江省", city="杭州市", district="西湖区"))
    await service.ingest(order)
    async with aiohttp.ClientSession() as session:
        agent = await Page(session, service.base, "zhangsan").open()
        boss = await Page(session, service.base, "lisi").open()
        anomaly_id = await service.open(order.key, AnomalyCode.ADDRESS_MISSING, "缺少详细地址")
        card = await agent.card_titled("[A] 收货地址缺失")
        assert [b["label"] for b in card["buttons"]] == ["已补录"]

        service.clock.advance(119)  # not yet
        await asyncio.sleep(0.6)
        assert await service.scalar("SELECT level FROM anomalies WHERE id = :i", i=anomaly_id) \
            == 0
        service.clock.advance(2)  # 2 min untouched
        up = await boss.card_titled("【升级】[A] 收货地址缺失")
        assert dict(up["fields"])["升级"] == "客服超时未处理，已升级给您"
        noted = (await agent.next_of("card_update"))["payload"]["card"]
        assert noted["card_id"] == card["card_id"] and noted["status"].startswith("已升级给主管")

        await agent.click(noted, "fix")
        assert "请直接回复正确的收货地址" in (await agent.next_of("text"))["payload"]["text"]
        await agent.say("杭州")  # too short: asked again, nothing changes
        assert "地址太短" in (await agent.next_of("text"))["payload"]["text"]
        await agent.say("浙江省杭州市西湖区文三路 100 号 3 幢")
        seen = await until_text(agent, "已补录")  # the card updates come first, then the reply
        mine = seen[-1]["payload"]["card"]
        theirs = (await boss.next_of("card_update"))["payload"]["card"]
        for closed in (mine, theirs):
            assert closed["status"].startswith("已由 张三 补录") and closed["buttons"] == []
    address = await service.scalar("SELECT receiver_address FROM orders WHERE "
                                   "channel_order_id = :c", c=order.channel_order_id)
    assert address == "浙江省杭州市西湖区文三路 100 号 3 幢"
    assert await service.scalar("SELECT resolution FROM anomalies WHERE id = :i",
                                i=anomaly_id) == "manual"
    assert await service.scalar("SELECT count(*) FROM timers WHERE kind = "
                                "'anomaly.escalate'") == 0
    kinds = await service.scalar(
        "SELECT group_concat(kind, ',') FROM (SELECT kind FROM order_events WHERE order_key = "
        ":k ORDER BY seq)", k=order.key)
    assert kinds == "ingested,anomaly_opened,anomaly_escalated,order_fixed,anomaly_resolved"


async def test_b_substitute_tap_changes_the_lines(service: Service) -> None:
    order = make_order(1)  # lines SKU-0001, SKU-0002, SKU-0003
    await service.ingest(order)
    async with aiohttp.ClientSession() as session:
        agent = await Page(session, service.base, "zhangsan").open()
        anomaly_id = await service.open(order.key, AnomalyCode.OUT_OF_STOCK_SUBSTITUTE,
                                        "SKU-0002 缺货", sku="SKU-0002",
                                        stock={"ALT-OUT": 0, "ALT-IN": 40})
        card = await agent.card_titled("[B] 缺货（有替代品）")
        assert [b["label"] for b in card["buttons"]] == ["替换为 ALT-IN"]
        await agent.click(card, "sub_0")
        await agent.click(card, "sub_0")  # double tap: one effect
        done = (await agent.next_of("card_update"))["payload"]["card"]
        assert done["status"].startswith("已由 张三 替换为 ALT-IN") and not done["buttons"]
    skus = await service.scalar(
        "SELECT group_concat(sku, ',') FROM (SELECT l.sku FROM order_lines l JOIN orders o ON "
        "o.id = l.order_id WHERE o.channel_order_id = :c ORDER BY l.position)",
        c=order.channel_order_id)
    assert skus == "SKU-0001,ALT-IN,SKU-0003"
    assert await service.scalar("SELECT count(*) FROM order_events WHERE order_key = :k AND "
                                "kind = 'lines_substituted'", k=order.key) == 1
    assert await service.scalar("SELECT resolution FROM anomalies WHERE id = :i",
                                i=anomaly_id) == "suggestion"


async def test_c_freeze_holds_the_order_until_released(service: Service) -> None:
    order = make_order(5)
    await service.ingest(order)
    async with aiohttp.ClientSession() as session:
        production = await Page(session, service.base, "sunqi").open()
        anomaly_id = await service.open(
            order.key, AnomalyCode.CUSTOM_SPEC_CONFLICT, "图纸进深 40cm，工艺最小 45cm",
            evidence=["https://files.example/drawings/5.pdf"])
        card = await production.card_titled("[C] 定制图纸与工艺冲突")
        assert card["buttons"] == [] and "https://files.example/drawings/5.pdf" in card["body"]
    moved = replace(order, status=OrderState.ALLOCATED)
    result = await service.ingest(moved)
    assert not result.rejected  # kept for the release (core.held_status), not refused
    assert await service.scalar("SELECT status FROM orders WHERE channel_order_id = :c",
                                c=order.channel_order_id) == "paid"
    assert await service.scalar("SELECT count(*) FROM order_events WHERE order_key = :k AND "
                                "kind = 'channel_status_deferred'", k=order.key) == 1

    async def release(deps: ChatDeps) -> bool:
        async with deps.new_uow() as uow:
            done = await resolve_anomaly(uow, anomaly_id, actor="lisi", how=Resolution.GATED,
                                         deps=deps, now=service.clock(), done="放行")
            await uow.commit()
        return done

    assert await service.with_deps(release) is True
    assert await service.with_deps(release) is False  # once
    # the release applied the kept status; the same push again changes nothing
    assert await service.scalar("SELECT status FROM orders WHERE channel_order_id = :c",
                                c=order.channel_order_id) == "allocated"
    assert not (await service.ingest(moved)).outcomes
    async with aiohttp.ClientSession() as session, \
            session.get(f"{service.base}/metrics") as response:
        body = await response.text()
    assert response.status == 200
    assert 'orderbot_anomalies_closed_total{resolution="gated"} 1.0' in body
    assert "orderbot_anomaly_self_healing_ratio 0.0" in body
