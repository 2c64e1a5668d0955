"""Use case: someone typed to the bot. Staff requests ("急单 1234567", "改地址 ...") become tasks,
address changes or gated proposals (``handlers/staff_tasks``); staff typing an order number
get its detail card.

Who is asking comes from the staff table (``core.people``): unknown DingTalk/WeCom members get
a polite refusal; on the web chat a sender outside the table is a customer (customer answers
come later, with ``answer_customer``). The card and its outbox row are written in one
transaction, so the card exists exactly when it will be delivered.
"""

from __future__ import annotations

import logging
from datetime import datetime

from core.card_views import order_detail
from core.chat import InboundMessage
from core.gate_commands import parse_gate_command
from core.masking import mask_text
from core.outbox import card_message, text_message
from core.people import REFUSAL_UNKNOWN_STAFF, Person
from handlers.anomaly_actions import answer_prompt
from handlers.chat_deps import ChatDeps, queue, reply_to
from handlers.propose_gate import propose_from_chat
from handlers.staff_tasks import staff_text

log = logging.getLogger("orderbot.chat")

CUSTOMER_REPLY = "您好，我是订单助手。查询订单请发送订单号给您的专属客服，我们会尽快回复您。"
HELP = "请发送订单号查询订单，例如：1234567890，或 taobao:1234567890。"


async def receive_text(message: InboundMessage, deps: ChatDeps, *, now: datetime) -> None:
    if message.is_group and not message.mentions_bot:
        return
    person = deps.directory.staff(message.platform, message.sender_id)
    log.info("text from %s on %s: %s", person.id if person else "non-staff", message.platform,
             mask_text(message.text[:80]))
    if person is None:
        await _reply(message, deps, await _customer_reply(message, deps, now), now)
        return
    command = parse_gate_command(message.text)
    if command is not None:
        await propose_from_chat(message, person, command, deps, now=now)
        return
    if await answer_prompt(message, person, deps, now=now):  # the reply to "已补录"
        return
    ref = await staff_text(message, person, deps, now=now)  # 急单 / 改地址 / ... -> tasks
    if ref is None:
        return
    await _order_card(message, person, ref, deps, now)


async def _customer_reply(message: InboundMessage, deps: ChatDeps, now: datetime) -> str:
    """A customer's question goes to the customer desk (``answer_customer``) on the platforms
    customers use; an unknown member of the company on DingTalk/WeCom is refused."""
    if message.platform not in deps.customer_platforms:
        return REFUSAL_UNKNOWN_STAFF
    if deps.customer_desk is None:
        return CUSTOMER_REPLY
    return await deps.customer_desk(message, now)


async def _order_card(message: InboundMessage, person: Person, ref: str, deps: ChatDeps,
                      now: datetime) -> None:
    platform, conversation = message.platform, reply_to(message)
    async with deps.new_uow() as uow:
        keys = await uow.orders.find(ref)
        stored = await uow.orders.get(keys[0]) if len(keys) == 1 else None
        if stored is None:
            reply = text_message(platform, conversation, _not_found(ref, keys))
            await uow.outbox.add([reply], at=now)
        else:
            anomalies = await uow.anomalies.for_order(stored.order.key)
            record = order_detail(deps.new_card_id("od"), stored.order, anomalies)
            await uow.cards.add(record, at=now)
            await uow.outbox.add([card_message(platform, conversation, record.card,
                                               order_key=stored.order.key)], at=now)
            log.info("order card %s for %s -> %s", record.card_id, stored.order.key, person.id)
        await uow.commit()
    deps.queued()


def _not_found(ref: str, keys: list[str]) -> str:
    if len(keys) > 1:
        return f"订单号 {ref} 在多个渠道都有，请带上渠道再发一次：" + "、".join(keys[:5])
    return f"没有找到订单 {ref}。{HELP}"


async def _reply(message: InboundMessage, deps: ChatDeps, text: str, now: datetime) -> None:
    await queue(deps, [text_message(message.platform, reply_to(message), text)], at=now)
