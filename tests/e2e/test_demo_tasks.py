"""The demo's chat tasks and customer questions in the web chat (issue 6 item 6): `make run`'s
stack with the demo on, the demo staff (no [[people]] configured), a short interval.

Transcript: the 顾客 page gets a hint naming a stored demo order and its receiver phone's last
4 digits; the customer asks "我的快递到哪了 <order> 尾号<last 4>" and gets the order's status with
the phone masked. 张三 (客服) gets the staff hint, types "急单！<order> 今天必须发"; his page and
王五's (仓库) get the high-priority task card; 王五 taps 认领 and his card reads "王五 (仓库)
处理中"; the order's allocation priority is raised.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from tests.e2e.chat_support import Page, demo_chat


@pytest.fixture
async def demo(sqlite_url: str) -> AsyncIterator[tuple[str, Any]]:
    async with demo_chat(sqlite_url, seed=11) as running:
        yield running


async def next_text(page: Page, starts: str) -> str:
    while True:
        value = str((await page.next_of("text", within=30))["payload"]["text"])
        if value.startswith(starts):
            return value


async def test_demo_customer_asks_and_staff_make_an_urgent_task(
        demo: tuple[str, Any]) -> None:
    base, engine = demo
    async with aiohttp.ClientSession() as session:
        customer = await Page(session, base, "customer").open()
        agent = await Page(session, base, "zhangsan").open()
        warehouse = await Page(session, base, "wangwu").open()
        hint = await next_text(customer, "（演示）")
        match = re.search(r"我的快递到哪了 (\S+) 尾号(\d{4})", hint)
        assert match is not None
        number, last4 = match.groups()
        assert await customer.say(match.group(0)) == 202
        answer = await next_text(customer, f"订单 {number}：")
        assert f"****{last4}" in answer and "收件人" in answer

        staff_hint = await next_text(agent, "（演示）")
        assert f"急单！{number} 今天必须发" in staff_hint
        assert await agent.say(f"急单！{number} 今天必须发") == 202
        mine = (await agent.next_of("card", within=30))["payload"]["card"]
        while not mine["title"].startswith("【急】任务：急单 "):  # the title names channel:no
            mine = (await agent.next_of("card", within=30))["payload"]["card"]
        assert mine["title"].endswith(f":{number}")
        theirs = await warehouse.card_titled(mine["title"], within=30)
        await warehouse.click(theirs, "claim")
        update = await warehouse.next_of("card_update", within=15)
        while update["payload"]["card"]["card_id"] != theirs["card_id"]:
            update = await warehouse.next_of("card_update", within=15)
    assert update["payload"]["card"]["status"] == "王五 (仓库) 处理中"
    async with engine.connect() as conn:
        priority = (await conn.execute(text(
            "SELECT priority FROM orders WHERE channel_order_id = :n"), {"n": number})
        ).scalar_one()
        tasks = (await conn.execute(text("SELECT kind, status, claimed_by FROM tasks"))).all()
    assert priority == 10
    assert [tuple(t) for t in tasks] == [("urgent", "claimed", "wangwu")]
