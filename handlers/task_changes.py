"""Use case: a task changes state: a tap on its card (认领 / 完成 / 升级), a withdrawal typed in
chat ("不急了"), or its deadline passing (the ``task.overdue`` timer).

Every change, in the caller's transaction: the task's compare-and-set on its version (two taps
at once: one winner, the other is told who acted), an order event (``task_claimed`` /
``task_done`` / ``task_escalated`` / ``task_cancelled``: the order trace shows its tasks), the
overdue timer cancelled when the task is closed, the card re-rendered (version + 1) for every
holder, and on escalation the card to everyone of the escalation role. Withdrawing the last
urgent task of an order puts the order's allocation priority back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.cards import CardRecord, Outcome, Verb, decide_click
from core.chat import CardAction
from core.errors import ConcurrencyError
from core.events import OrderEvent, append_event
from core.outbox import Outgoing, card_message, text_message
from core.people import Person
from core.task_views import overdue_note, rerendered, task_card
from core.tasks import (
    ORDER_PRIORITY,
    Priority,
    Task,
    TaskAction,
    TaskError,
    TaskKind,
    TaskState,
    overdue,
    overdue_key,
    transition,
)
from core.timers import Timer
from handlers.chat_deps import ChatDeps, to_people
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.tasks")
GONE = "这个任务已不存在。"
_VERBS = {Verb.CLAIM.value: TaskAction.CLAIM, Verb.DONE.value: TaskAction.DONE,
          Verb.ESCALATE.value: TaskAction.ESCALATE}


@dataclass(frozen=True, slots=True)
class TapResult:
    """The card after the tap (None: nothing changed, ``reply`` says why) and messages to
    send after the holders' updates (the escalated card to the supervisors)."""

    updated: CardRecord | None
    reply: str = ""
    then: tuple[Outgoing, ...] = ()


async def tap_task(uow: ChatUnitOfWork, action: CardAction, record: CardRecord, verb: str,
                   person: Person, deps: ChatDeps, *, now: datetime) -> TapResult:
    """A tap on a task card, called by ``click_card`` (which stores the returned card with a
    compare-and-set and updates every holder)."""
    handler = deps.directory.name_of(record.handled_by or "")
    decision = decide_click(record, verb, person, action.card_version, handler)
    if decision.outcome is not Outcome.ACCEPTED or verb not in _VERBS:
        return TapResult(None, decision.reply or "这个按钮已不可用。")
    task = await uow.tasks.get(int(record.ref))
    if task is None:
        return TapResult(None, GONE)
    try:
        after = transition(task, _VERBS[verb], person, at=now, settings=deps.tasks,
                           closed_by_name=deps.directory.name_of(
                               task.claimed_by or task.closed_by or ""))
    except TaskError as error:
        log.info("task #%s %s by %s refused: %s", task.id, verb, person.id, error)
        return TapResult(None, error.reply)
    updated, then = await change_task(uow, task, after, person.id, deps, now=now, record=record)
    log.info("task #%s %s by %s: %s -> %s", task.id, verb, person.id, task.state, after.state)
    return TapResult(updated, then=tuple(then))


async def change_task(uow: ChatUnitOfWork, before: Task, after: Task, actor: str,
                      deps: ChatDeps, *, now: datetime, record: CardRecord | None = None
                      ) -> tuple[CardRecord | None, list[Outgoing]]:
    """Store ``after`` (CAS on ``before.version``; raises ``ConcurrencyError`` when someone
    changed the task first), write its order event and timer change; the re-rendered card
    (for the caller to store) and the escalation messages to send after the holders'
    updates."""
    if not await uow.tasks.transition(after, expected_version=before.version):
        raise ConcurrencyError(f"task #{before.id} changed since it was loaded")
    if after.state in (TaskState.DONE, TaskState.CANCELLED):
        await uow.timers.cancel([overdue_key(after.id or 0)])
    order = await _order_event(uow, after, actor, now, f"task_{after.state.value}",
                               {"task_id": after.id, "task": after.kind.value,
                                "from": before.state.value})
    record = record or (await uow.cards.get(after.card_id) if after.card_id else None)
    if record is None:
        return None, []
    updated = rerendered(record, after, order, deps.directory.name_of)
    then: list[Outgoing] = []
    if after.state is TaskState.ESCALATED:
        then = await _to_escalation(uow, updated, deps, actor == "system", after, now)
    return updated, then


async def store_card(uow: ChatUnitOfWork, record: CardRecord, updated: CardRecord,
                     then: Sequence[Outgoing], *, now: datetime) -> None:
    """Outside a tap (withdrawal, overdue): the new card version for every holder."""
    if not await uow.cards.replace(updated, expected_version=record.version, at=now):
        raise ConcurrencyError(f"card {record.card_id} changed since it was loaded")
    holders = await uow.outbox.holders(updated.card_id)
    await uow.outbox.add([card_message(p, c, updated.card, update=True,
                                       order_key=updated.order_key) for p, c in holders], at=now)
    await uow.outbox.add(list(then), at=now)


async def _to_escalation(uow: ChatUnitOfWork, record: CardRecord, deps: ChatDeps,
                         overdue_: bool, task: Task, now: datetime) -> list[Outgoing]:
    """The card to every person of the escalation role who does not hold it yet."""
    holders = set(await uow.outbox.holders(record.card_id))
    people = deps.directory.with_role(deps.tasks.escalate_to)
    out: list[Outgoing] = []
    for platform, conversation in to_people(people, deps.platforms):
        if overdue_:
            out.append(text_message(platform, conversation, overdue_note(task, now),
                                    order_key=task.order_key))
        if (platform, conversation) not in holders:
            out.append(card_message(platform, conversation, record.card,
                                    order_key=record.order_key))
    return out


async def _order_event(uow: ChatUnitOfWork, task: Task, actor: str, now: datetime, kind: str,
                       data: dict[str, Any]) -> Any:
    """Append one event to the task's order; the order (None: the task has no order)."""
    if not task.order_key:
        return None
    stored = (await uow.orders.load_many([task.order_key])).get(task.order_key)
    if stored is None:
        return None
    event = append_event(stored.head, task.order_key, at=now, actor=actor, kind=kind, data=data)
    await uow.orders.save_change(stored, stored.order, [event], at=now)
    return stored.order


async def lower_priority(uow: ChatUnitOfWork, order_key: str, actor: str, now: datetime,
                         task_id: int | None) -> bool:
    """After the last active urgent task of an order is withdrawn: normal priority again."""
    if await uow.tasks.active_for(order_key, [TaskKind.URGENT]):
        return False
    before = await uow.tasks.set_order_priority(order_key, ORDER_PRIORITY[Priority.NORMAL])
    if before is None or before == ORDER_PRIORITY[Priority.NORMAL]:
        return False
    stored = (await uow.orders.load_many([order_key])).get(order_key)
    if stored is not None:
        event = priority_event(stored.head, order_key, actor, now, before,
                               ORDER_PRIORITY[Priority.NORMAL], task_id)
        await uow.orders.save_change(stored, stored.order, [event], at=now)
    return True


def priority_event(head: Any, order_key: str, actor: str, now: datetime, before: int,
                   after: int, task_id: int | None) -> OrderEvent:
    """``priority_raised`` / ``priority_lowered``: the allocation queue (not built yet) takes
    orders by ``orders.priority``, highest first; the event says who moved it and why."""
    kind = "priority_raised" if after > before else "priority_lowered"
    return append_event(head, order_key, at=now, actor=actor, kind=kind,
                        data={"from": before, "to": after, "task_id": task_id,
                              "queue": "allocation (orders.priority, highest first)"})


async def task_overdue(uow: ChatUnitOfWork, timer: Timer, deps: ChatDeps, *,
                       now: datetime) -> None:
    """The ``task.overdue`` timer: an open or claimed task past its deadline is escalated to
    the escalation role (its card, and a note saying it is late)."""
    task = await uow.tasks.get(int(timer.ref))
    after = overdue(task, at=now) if task is not None else None
    if task is None or after is None:
        return
    record = await uow.cards.get(task.card_id) if task.card_id else None
    updated, then = await change_task(uow, task, after, "system", deps, now=now, record=record)
    if record is not None and updated is not None:
        await store_card(uow, record, updated, then, now=now)
    log.info("task #%s overdue: escalated to %s", task.id, deps.tasks.escalate_to)


def new_card(task: Task, deps: ChatDeps, order: Any) -> CardRecord:
    return task_card(task.card_id or "", task, order, deps.directory.name_of)
