"""The task card: what was asked (masked), for which order, how urgent, whose it is, by when,
and the buttons its state allows (认领 / 完成 / 升级).

The same card goes to the person who asked and to everyone of the owning role (急单: the
warehouse at once); every change re-renders it with version + 1 and updates every holder.
Phones and street addresses in the typed text are masked: cards are forwarded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from core.cards import CardKind, CardRecord, Verb
from core.chat import Button, Card, format_payload
from core.clock import SHANGHAI, shanghai_text
from core.masking import mask_text
from core.order import Order
from core.people import ROLE_LABELS
from core.states import label
from core.tasks import (
    ACTION_LABELS,
    PRIORITY_LABELS,
    STATE_LABELS,
    Priority,
    Task,
    TaskAction,
    TaskState,
)

_BUTTONS: dict[TaskState, tuple[TaskAction, ...]] = {
    TaskState.OPEN: (TaskAction.CLAIM, TaskAction.DONE, TaskAction.ESCALATE),
    TaskState.CLAIMED: (TaskAction.DONE, TaskAction.ESCALATE),
    TaskState.ESCALATED: (TaskAction.CLAIM, TaskAction.DONE),
}
_VERBS = {TaskAction.CLAIM: Verb.CLAIM, TaskAction.DONE: Verb.DONE,
          TaskAction.ESCALATE: Verb.ESCALATE}


def task_card(card_id: str, task: Task, order: Order | None, name_of: Callable[[str], str],
              *, version: int = 1) -> CardRecord:
    """The card for ``task`` as it stands (``name_of``: person id -> display name)."""
    high = task.priority is Priority.HIGH
    fields = [("订单", task.order_key or "-"), ("优先级", PRIORITY_LABELS[task.priority]),
              ("负责", ROLE_LABELS[task.owner_role]), ("截止", shanghai_text(task.deadline)),
              ("状态", STATE_LABELS[task.state]), ("提出", name_of(task.requested_by))]
    if task.claimed_by:
        fields.append(("认领", name_of(task.claimed_by)))
    if order is not None:
        fields.append(("订单状态", label(order.status)))
    body = f"原话：{mask_text(task.source_text)}" if task.source_text else ""
    if high:
        body += "\n\n已提高该订单的分仓优先级（分仓队列按优先级排序）。"
    card = Card(card_id=card_id, title=("【急】" if high else "") + f"任务：{task.title}",
                body=body.strip(), fields=tuple(fields), buttons=_buttons(card_id, task),
                status=_status(task, name_of), version=version)
    return CardRecord(card, CardKind.TASK, str(task.id), task.order_key,
                      handled_by=task.closed_by, handled_at=task.closed_at)


def rerendered(record: CardRecord, task: Task, order: Order | None,
               name_of: Callable[[str], str]) -> CardRecord:
    """The card after a change to its task: same id, version + 1."""
    fresh = task_card(record.card_id, task, order, name_of, version=record.version + 1)
    return replace(fresh, card=replace(fresh.card, version=record.version + 1))


def _buttons(card_id: str, task: Task) -> tuple[Button, ...]:
    return tuple(Button(action.value, format_payload(card_id, _VERBS[action]),
                        ACTION_LABELS[action],
                        style="primary" if action is TaskAction.DONE else "default")
                 for action in _BUTTONS.get(task.state, ()))


def _status(task: Task, name_of: Callable[[str], str]) -> str:
    if task.state in (TaskState.DONE, TaskState.CANCELLED) and task.closed_at is not None:
        who = name_of(task.closed_by or "")
        return f"已由 {who} {STATE_LABELS[task.state].removeprefix('已')} " \
               f"{task.closed_at.astimezone(SHANGHAI):%H:%M}"
    if task.state is TaskState.CLAIMED and task.claimed_by:
        return f"{name_of(task.claimed_by)} 处理中"
    if task.state is TaskState.ESCALATED:
        return "已升级给主管"
    return ""


def overdue_note(task: Task, now: datetime) -> str:
    """What the escalation role is told when a task missed its deadline."""
    return (f"任务「{task.title}」已超时（截止 {shanghai_text(task.deadline)}，"
            f"现在 {now.astimezone(SHANGHAI):%H:%M}），已升级给您，请跟进。")
