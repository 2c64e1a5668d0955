"""The web chat through the real service (SQLite + SQL inbox, real HTTP and websockets).

Transcript: 张三 (agent) types an order number and gets the order card live; 张三 taps "不是重复"
on a suspected-duplicate card twice: one effect, one order event, and every holder's card
updated; 王五 (warehouse) is refused (both buttons); a customer is answered politely. (What
"确认重复" does, a gated merge, is tests/e2e/test_duplicate_merge.py.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.config import Config, DatabaseConfig, InboxConfig
from tests.e2e.chat_store import ORDER, TWIN, announce, ingest, open_anomalies, order_events
from tests.e2e.chat_support import Page, chat_service


@pytest.fixture
async def service(sqlite_url: str, monkeypatch: pytest.MonkeyPatch
                  ) -> AsyncIterator[tuple[str, str]]:
    config = Config(database=DatabaseConfig(url=sqlite_url),
                    inbox=InboxConfig(backend="sql", reclaim_idle_s=2.0))
    async with chat_service(config, monkeypatch) as base:
        yield base, sqlite_url


async def test_staff_gets_an_order_card_by_typing_its_number(service: tuple[str, str]) -> None:
    base, url = service
    await ingest(url, ORDER)
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
    await ingest(url, ORDER)
    await ingest(url, TWIN)
    async with aiohttp.ClientSession() as session:
        agent = await Page(session, base, "zhangsan").open()
        supervisor = await Page(session, base, "lisi").open()
        warehouse = await Page(session, base, "wangwu").open()
        await announce(url, ["webchat"])
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
    assert await order_events(url, TWIN.key, "anomaly_resolved") == 1
    assert await open_anomalies(url, TWIN.key) == 0


async def warehouse_click_is_refused(page: Page, card: dict[str, object]) -> None:
    await page.click(card, "not_duplicate")  # type: ignore[arg-type]
    assert "需要客服或主管权限" in (await page.next_of("text"))["payload"]["text"]
