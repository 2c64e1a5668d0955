"""The demo's gated cancel in the web chat (issue 5, item 7): `make run`'s stack with the
demo on, the demo staff (no [[people]] configured), a short interval.

Transcript: the feeder pushes orders; the system proposes to cancel a healthy paid one; 李四
(组长, the demo supervisor) gets the card in his web chat page with the demo reason and the
accuracy line, taps 确认; his card reads "已由 李四 (组长) 确认 HH:MM"; the order is cancelled
once; the feeder never ships it afterwards (no dead letters).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from tests.contract.gate_support import events
from tests.e2e.chat_support import Page, demo_chat


@pytest.fixture
async def demo(sqlite_url: str) -> AsyncIterator[tuple[str, Any]]:
    async with demo_chat(sqlite_url, seed=7) as running:
        yield running


async def test_demo_supervisor_confirms_a_gated_cancel_in_the_page(
        demo: tuple[str, Any]) -> None:
    base, engine = demo
    async with aiohttp.ClientSession() as session:
        supervisor = await Page(session, base, "lisi").open()
        # other demo cards may come first
        card = await supervisor.card_titled("待确认：取消订单", within=30)
        assert "演示数据" in card["body"] and "取消订单 建议准确率" in card["body"]
        assert ["提议人", "系统"] in card["fields"]
        key = dict(card["fields"])["订单"]
        await supervisor.click(card, "gate_confirm")
        update = await supervisor.next_of("card_update", within=15)
        while update["payload"]["card"]["card_id"] != card["card_id"]:
            update = await supervisor.next_of("card_update", within=15)
    assert update["payload"]["card"]["status"].startswith("已由 李四 (组长) 确认 ")
    assert await events(engine, key, "state_changed", to="cancelled") == 1
    await asyncio.sleep(1.0)  # the feeder keeps pushing: it must never ship the cancelled one
    async with engine.connect() as conn:
        reasons = [r[0] for r in await conn.execute(text("SELECT reason FROM dead_letters"))]
        status = (await conn.execute(text(
            "SELECT status FROM orders WHERE channel || ':' || channel_order_id = :k"),
            {"k": key})).scalar_one()
    assert reasons == []
    assert status == "cancelled"
