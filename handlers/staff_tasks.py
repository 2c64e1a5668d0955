"""Use case: a staff member typed a request to the bot ("急单！1234567 今天必须发",
"1234567 改地址 浙江省杭州市西湖区文三路 90 号", "不急了").

The message is read by ``core.intent``; ``core.task_rules.plan`` says what it makes happen;
this module does it in one transaction: find the order (order number, tracking number via the
parcels registry, or receiver phone), then open a task and send its card (急单: high priority,
to the warehouse at once, and the order's allocation priority raised), change the address
(before allocation at once, after it as a gated proposal), propose a gated cancel/refund, or
withdraw a task. Whatever cannot be done is answered with a question or the reason, never
dropped. A message delivered twice makes one task (``source_ref``).

``staff_text`` returns an order reference when the message only asks to see an order: the
caller (``receive_text``) then shows its detail card as before.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from core.chat import InboundMessage
from core.clock import shanghai_text
from core.events import append_event
from core.gating import GateError, GateKind
from core.ingest import StoredOrder
from core.intent import IntentResult, extract
from core.masking import mask_address, mask_text
from core.outbox import Outgoing, card_message, text_message
from core.people import ROLE_LABELS, Person
from core.states import label
from core.task_rules import (
    AddressRoute,
    Ask,
    ChangeAddress,
    OpenTask,
    ProposeGate,
    ShowOrder,
    Withdraw,
    address_route,
    new_receiver,
    plan,
    receiver_params,
    task_title,
)
from core.tasks import ORDER_PRIORITY, new_task, overdue_timer
from handlers.chat_deps import ChatDeps, queue, reply_to, to_people
from handlers.order_refs import find_orders, not_one, typed_ref
from handlers.ports import ChatUnitOfWork
from handlers.propose_gate import GateRequest, open_gate
from handlers.task_changes import new_card, priority_event
from handlers.task_withdraw import withdraw

log = logging.getLogger("orderbot.tasks")


async def staff_text(message: InboundMessage, person: Person, deps: ChatDeps, *,
                     now: datetime) -> str | None:
    """Handle ``message`` from ``person``; an order reference to show, or None (handled)."""
    result = extract(message.text)
    typed = typed_ref(result.entities, message.text)
    decided = plan(result, ask_back_below=deps.ask_back_below, typed_ref=typed is not None)
    log.info("staff %s: %s (%.2f) -> %s", person.id, result.intent, result.confidence,
             type(decided).__name__)
    if isinstance(decided, Ask):
        await _reply(message, deps, decided.text, now)
        return None
    if isinstance(decided, ShowOrder):
        return await _to_show(message, result, typed, deps, now)
    if isinstance(decided, Withdraw):
        await withdraw(message, person, result, typed, decided, deps, now=now)
        return None
    async with deps.new_uow() as uow:
        out = await _act(uow, message, person, result, typed, decided, deps, now)
        await uow.outbox.add(out, at=now)
        await uow.commit()
    deps.queued()
    return None


async def _act(uow: ChatUnitOfWork, message: InboundMessage, person: Person,
               result: IntentResult, typed: str | None,
               decided: OpenTask | ChangeAddress | ProposeGate, deps: ChatDeps,
               now: datetime) -> list[Outgoing]:
    where = (message.platform, reply_to(message))
    keys, asked = await find_orders(uow, result.entities, typed)
    if len(keys) != 1:
        return [text_message(*where, not_one(asked, keys))]
    stored = await uow.orders.get(keys[0])
    if stored is None:
        return [text_message(*where, not_one(asked, []))]
    if isinstance(decided, OpenTask):
        return await _open_task(uow, message, person, result, decided, stored, deps, now)
    if isinstance(decided, ChangeAddress):
        return [text_message(*where, await _change_address(uow, message, person, decided,
                                                           stored, deps, now))]
    return [text_message(*where, await _propose(uow, message, person, decided.kind,
                                                stored, deps, now))]


async def _to_show(message: InboundMessage, result: IntentResult, typed: str | None,
                   deps: ChatDeps, now: datetime) -> str | None:
    """A status question: an order number goes to the order card as typed; a tracking
    number or phone is resolved to its order first."""
    found = result.entities
    if found.order_nos or typed:
        return found.order_nos[0] if found.order_nos else typed
    async with deps.new_uow() as uow:
        keys, asked = await find_orders(uow, found, None)
    if len(keys) == 1:
        return keys[0]
    await _reply(message, deps, not_one(asked, keys), now)
    return None


async def _open_task(uow: ChatUnitOfWork, message: InboundMessage, person: Person,
                     result: IntentResult, decided: OpenTask, stored: StoredOrder,
                     deps: ChatDeps, now: datetime) -> list[Outgoing]:
    where = (message.platform, reply_to(message))
    source = f"{message.platform}:{message.message_id}"
    if await uow.tasks.by_source(source) is not None:
        return []  # a redelivered message: its task exists and its card went out
    key = stored.order.key
    for active in await uow.tasks.active_for(key, [decided.kind]):
        return [text_message(*where, f"订单 {key} 已有进行中的{active.label}任务 #{active.id}"
                                     f"（截止 {shanghai_text(active.deadline)}），未重复创建。")]
    task = new_task(decided.kind, requester=person, at=now, settings=deps.tasks,
                    title=task_title(decided.kind, key, result.entities.products),
                    priority=decided.priority, order_key=key, source_text=message.text,
                    source_ref=source, data={"platform": where[0], "conversation": where[1]})
    task = replace(task, card_id=deps.new_card_id("task"))
    task = replace(task, id=await uow.tasks.add(task))
    await uow.timers.set([overdue_timer(task)], at=now)
    await _task_events(uow, task.id or 0, decided, stored, person, now)
    record = new_card(task, deps, stored.order)
    await uow.cards.add(record, at=now)
    owners = deps.directory.with_role(task.owner_role)
    targets = dict.fromkeys([where, *to_people(owners, deps.platforms)])
    out = [card_message(p, c, record.card, order_key=key) for p, c in targets]
    if not owners:
        out.append(text_message(*where, f"注意：还没有配置{ROLE_LABELS[task.owner_role]}角色的"
                                        "人员，这个任务暂时无人接收，请联系管理员。"))
    log.info("task #%s %s %s for %s -> %d owner(s)", task.id, task.kind, task.priority, key,
             len(owners))
    return out


async def _task_events(uow: ChatUnitOfWork, task_id: int, decided: OpenTask,
                       stored: StoredOrder, person: Person, now: datetime) -> None:
    """``task_opened`` on the order; for 急单 also ``priority_raised`` (orders.priority)."""
    key = stored.order.key
    events = [append_event(stored.head, key, at=now, actor=person.id, kind="task_opened",
                           data={"task_id": task_id, "task": decided.kind.value,
                                 "priority": decided.priority.value})]
    if decided.urgent:
        before = await uow.tasks.set_order_priority(key, ORDER_PRIORITY[decided.priority])
        if before is not None and before < ORDER_PRIORITY[decided.priority]:
            events.append(priority_event(events[-1].head, key, person.id, now, before,
                                         ORDER_PRIORITY[decided.priority], task_id))
    await uow.orders.save_change(stored, stored.order, events, at=now)


async def _change_address(uow: ChatUnitOfWork, message: InboundMessage, person: Person,
                          decided: ChangeAddress, stored: StoredOrder, deps: ChatDeps,
                          now: datetime) -> str:
    order, address = stored.order, decided.address
    receiver = new_receiver(order.receiver, address)
    shown = (f"{address.province}{address.city}{address.district or ''}"
             f"{mask_address(address.detail) or ''}")
    route = address_route(order.status)
    if route is AddressRoute.TOO_LATE:
        return (f"订单 {order.key} 已「{label(order.status)}」，不能再改地址。"
                "如包裹已发出，请联系快递公司改派。")
    if receiver == order.receiver:
        return f"订单 {order.key} 的收货地址已是 {shown}，无需修改。"
    if route is AddressRoute.GATE:
        request = GateRequest(
            GateKind.CHANGE_ADDRESS, f"{person.name} 在聊天中要求改地址（订单已分仓）",
            order_key=order.key, params={"receiver": receiver_params(address)},
            evidence=(("新地址", shown), ("订单状态", label(order.status))))
        return await _gate_reply(uow, request, person, deps, now)
    changed = [n for n in ("province", "city", "district", "address")
               if getattr(receiver, n) != getattr(order.receiver, n)]
    event = append_event(stored.head, order.key, at=now, actor=person.id,
                         kind="address_changed",
                         data={"changed": changed, "via": "chat",
                               "message": f"{message.platform}:{message.message_id}",
                               "old": mask_address(order.receiver.address) or "",
                               "new": mask_address(receiver.address) or ""})
    await uow.orders.save_change(stored, replace(order, receiver=receiver), [event], at=now)
    log.info("address of %s changed by %s (before allocation)", order.key, person.id)
    return f"已将订单 {order.key} 的收货地址改为：{shown}（未分仓，已直接生效并记录）。"


async def _propose(uow: ChatUnitOfWork, message: InboundMessage, person: Person,
                   kind: GateKind, stored: StoredOrder, deps: ChatDeps, now: datetime) -> str:
    reason = f"{person.name} 在聊天中提出：{mask_text(message.text)[:200]}"
    return await _gate_reply(uow, GateRequest(kind, reason, order_key=stored.order.key),
                             person, deps, now)


async def _gate_reply(uow: ChatUnitOfWork, request: GateRequest, person: Person,
                      deps: ChatDeps, now: datetime) -> str:
    try:
        proposal = await open_gate(uow, request, person, deps, now=now)
    except GateError as error:
        log.info("gate proposal by %s refused: %s", person.id, error)
        return error.reply
    return (f"已提交「{proposal.label}」提议 #{proposal.id}（订单 {proposal.order_key}），"
            f"需主管确认，截止 {shanghai_text(proposal.deadline)}。")


async def _reply(message: InboundMessage, deps: ChatDeps, text: str, now: datetime) -> None:
    await queue(deps, [text_message(message.platform, reply_to(message), text)], at=now)

