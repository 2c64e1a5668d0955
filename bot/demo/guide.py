"""The demo's first steps for chat tasks and customer questions (issue 6 item 6): so that
`make run` shows what to type.

Once the first healthy paid demo order is stored, the web chat's 顾客 page gets one line to try
("我的快递到哪了 <order> 尾号<last 4>": the demo customer is that order's buyer, so the last 4
digits of the receiver phone are given to them here, demo data only) and every demo agent gets
the staff lines ("急单！<order> 今天必须发", "<order> 改地址 ...", "不急了"). Everything after
that is the real service: the customer desk answers with phone and address masked, the task
goes to the warehouse (王五) as a card with 认领 / 完成 / 升级.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Protocol

from aiohttp import web

from bot.demo.generator import DemoOrder
from bot.webchat.routes import CUSTOMER
from core.outbox import Outgoing, text_message
from core.people import Role
from handlers.chat_deps import ChatDeps, queue

log = logging.getLogger("orderbot.demo")

FIRST_AFTER = 6  # mean intervals after start: the first orders are stored by then


class PaidOrders(Protocol):
    def paid_orders(self) -> list[DemoOrder]: ...


def customer_hint(order: DemoOrder) -> str:
    return (f"（演示）您是订单 {order.order_id} 的买家，收件手机尾号 {order.phone[-4:]}。"
            f"试试问订单助手：我的快递到哪了 {order.order_id} 尾号{order.phone[-4:]}")


def staff_hint(order: DemoOrder) -> str:
    return (f"（演示）试试在这里输入：急单！{order.order_id} 今天必须发 —— 仓库会立刻收到"
            f"任务卡（可认领 / 完成 / 升级）；或：{order.order_id} 改地址 浙江省杭州市西湖区"
            "文三路 90 号；撤回急单：不急了")


async def post_guide(deps: ChatDeps, feeder: PaidOrders, now: datetime) -> bool:
    """Post the hints about the newest stored paid demo order; False while none is stored."""
    for order in feeder.paid_orders():
        async with deps.new_uow() as uow:
            stored = await uow.orders.get(f"{order.channel}:{order.order_id}")
        if stored is None:
            continue
        messages: list[Outgoing] = [text_message("webchat", CUSTOMER, customer_hint(order))]
        messages += [text_message("webchat", person.id, staff_hint(order))
                     for person in deps.directory.with_role(Role.AGENT)]
        await queue(deps, messages, at=now)
        log.info("demo: chat hints posted for %s:%s", order.channel, order.order_id)
        return True
    return False


async def run_demo_guide(app: web.Application, feeder: PaidOrders, interval_s: float) -> None:
    """Run by ``demo_ctx`` next to the feeder: post the hints once, then stop."""
    from bot.chat import CHAT  # set by the chat ctx once the app has started

    await asyncio.sleep(FIRST_AFTER * interval_s)
    while True:
        deps = app.get(CHAT)
        if deps is not None and await post_guide(deps, feeder, datetime.now(UTC)):
            return
        await asyncio.sleep(interval_s)
