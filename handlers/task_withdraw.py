"""Use case: a staff member withdraws a request ("不急了", "1234567 不用加了", "地址不用改了").

A withdrawn task is cancelled: the order's active tasks of that kind when the message names
the order, else the sender's own latest one. Cancelling follows ``core.tasks`` (the asker or
the escalation role may) and ``handlers/task_changes`` (CAS, order event, timer, card update);
withdrawing the last urgent task puts the order's allocation priority back. An address change,
cancellation or refund is not a task: the reply says honestly where it stands (already applied,
or a proposal waiting for the supervisor, who rejects it on the card).
"""

from __future__ import annotations

import logging
from datetime import datetime

from core.chat import InboundMessage
from core.gating import GateKind
from core.intent import Intent, IntentResult
from core.outbox import text_message
from core.people import Person
from core.task_rules import Withdraw
from core.tasks import KIND_LABELS, Task, TaskAction, TaskError, TaskKind, transition
from handlers.chat_deps import ChatDeps, reply_to
from handlers.order_refs import find_orders, not_one
from handlers.ports import ChatUnitOfWork
from handlers.task_changes import change_task, lower_priority, store_card

log = logging.getLogger("orderbot.tasks")

_TASK_KINDS: dict[str, TaskKind] = {"urgent": TaskKind.URGENT, "add_item": TaskKind.ADD_ITEM,
                                    "invoice": TaskKind.INVOICE,
                                    "complaint": TaskKind.COMPLAINT}
_GATE_KINDS: dict[str, GateKind] = {"change_address": GateKind.CHANGE_ADDRESS,
                                    "cancel_order": GateKind.CANCEL,
                                    "refund_return": GateKind.REFUND}


async def withdraw(message: InboundMessage, person: Person, result: IntentResult,
                   typed: str | None, decided: Withdraw, deps: ChatDeps, *,
                   now: datetime) -> None:
    where = (message.platform, reply_to(message))
    named = result.entities.has_reference or typed is not None
    async with deps.new_uow() as uow:
        keys, asked = await find_orders(uow, result.entities, typed) if named else ([], "")
        if named and len(keys) != 1:
            lines = [not_one(asked, keys)]
        else:
            key = keys[0] if keys else None
            lines = [await _withdraw_one(uow, intent, key, person, deps, now)
                     for intent in decided.intents]
        await uow.outbox.add([text_message(*where, "\n".join(lines))], at=now)
        await uow.commit()
    deps.queued()


async def _withdraw_one(uow: ChatUnitOfWork, intent: Intent, key: str | None, person: Person,
                        deps: ChatDeps, now: datetime) -> str:
    if intent in _TASK_KINDS:
        return await _cancel_tasks(uow, _TASK_KINDS[intent], key, person, deps, now)
    if intent in _GATE_KINDS:
        return await _gate_state(uow, _GATE_KINDS[intent], key)
    return "好的，已知悉。"


async def _cancel_tasks(uow: ChatUnitOfWork, kind: TaskKind, key: str | None, person: Person,
                        deps: ChatDeps, now: datetime) -> str:
    label = KIND_LABELS[kind]
    if key is not None:
        tasks = await uow.tasks.active_for(key, [kind])
    else:
        mine = await uow.tasks.latest_active_by(person.id, [kind])
        tasks = [mine] if mine is not None else []
    if not tasks:
        where = f"订单 {key} " if key else "您提出的"
        return f"没有找到{where}进行中的{label}任务，无需撤销。"
    done: list[str] = []
    for task in tasks:
        try:
            done.append(await _cancel(uow, task, person, deps, now))
        except TaskError as error:
            return error.reply
    return "；".join(done) + "。"


async def _cancel(uow: ChatUnitOfWork, task: Task, person: Person, deps: ChatDeps,
                  now: datetime) -> str:
    after = transition(task, TaskAction.CANCEL, person, at=now, settings=deps.tasks)
    record = await uow.cards.get(task.card_id) if task.card_id else None
    updated, then = await change_task(uow, task, after, person.id, deps, now=now, record=record)
    if record is not None and updated is not None:
        await store_card(uow, record, updated, then, now=now)
    text = f"已撤销{task.label}任务 #{task.id}（订单 {task.order_key}）"
    if task.kind is TaskKind.URGENT and task.order_key and \
            await lower_priority(uow, task.order_key, person.id, now, task.id):
        text += "，该订单的分仓优先级已恢复为普通"
    log.info("task #%s withdrawn by %s", task.id, person.id)
    return text


async def _gate_state(uow: ChatUnitOfWork, kind: GateKind, key: str | None) -> str:
    """An address change, cancellation or refund is not a task: say where it stands."""
    what = {GateKind.CHANGE_ADDRESS: "改地址", GateKind.CANCEL: "取消订单",
            GateKind.REFUND: "退款"}[kind]
    if key is None:
        return f"请带上订单号再说一次，例如：1234567890 不用{what}了。"
    proposal = await uow.gates.open_for(kind, key)
    if proposal is not None:
        return (f"订单 {key} 的「{proposal.label}」提议 #{proposal.id} 仍在等主管决定，"
                "orderbot 不能替主管撤回：请告知主管在卡片上点「拒绝」。")
    if kind is GateKind.CHANGE_ADDRESS and any(
            e.kind == "address_changed" for e in await uow.orders.events(key)):
        return (f"订单 {key} 的地址已按之前的消息修改。如需改回，请发送：{key} 改地址 "
                "<原地址>。")
    return f"订单 {key} 没有待处理的{what}请求，无需撤销。"
