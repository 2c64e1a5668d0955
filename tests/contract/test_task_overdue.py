"""A chat task past its deadline is escalated once by its durable timer, on SQLite and
PostgreSQL: the timer fires through ``fire_timers`` (as the timer worker runs it), the task
moves open -> escalated with its version, the supervisor gets the card and a note, the order
trace says so; firing again (a re-claimed lease) changes nothing. (A finished task is left
alone: ``core.tasks.overdue``, tests/unit/core/test_tasks.py.)"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import text

from core.chat import InboundMessage
from core.tasks import TaskKind, overdue_key
from core.timers import TimerKind
from handlers.staff_tasks import staff_text
from handlers.task_changes import task_overdue
from handlers.timers import TimerRegistry, fire_timers
from tests.contract.gate_support import AGENT, UowFactory, chat_deps, events, ingest
from tests.factories import T0, make_order

ORDER = make_order(41)


def said(text: str, n: int) -> InboundMessage:
    return InboundMessage(platform="webchat", message_id=f"m{n}", sender_id=AGENT.id,
                          sender_name=AGENT.name, conversation_id=AGENT.id, is_group=False,
                          text=text, mentions_bot=True, at=T0)


async def test_overdue_task_is_escalated_once(new_uow: UowFactory, engine: object) -> None:
    deps = chat_deps(new_uow)
    await ingest(new_uow, ORDER)
    assert await staff_text(said(f"{ORDER.channel_order_id} 加个五金包", 1), AGENT, deps,
                            now=T0) is None
    assert await staff_text(said(f"{ORDER.channel_order_id} 加个五金包", 1), AGENT, deps,
                            now=T0) is None  # the same message again: one task
    async with new_uow() as uow:
        (task,) = await uow.tasks.active_for(ORDER.key, [TaskKind.ADD_ITEM])
        timer = await uow.timers.get(overdue_key(task.id or 0))
    assert timer is not None and timer.due_at == T0 + timedelta(hours=4)

    registry = TimerRegistry()

    async def handler(uow: object, fired: object, now: object) -> None:
        await task_overdue(uow, fired, deps, now=now)  # type: ignore[arg-type]

    registry.register(TimerKind.TASK_OVERDUE, handler)
    assert await fire_timers([timer], registry, new_uow, now=T0 + timedelta(hours=1)) == \
        [timer]  # not due yet: taken only when due, nothing happens
    late = T0 + timedelta(hours=4, seconds=1)
    await asyncio.gather(*(fire_timers([timer], registry, new_uow, now=late)
                           for _ in range(3)))  # a re-claimed lease fires again
    async with new_uow() as uow:
        escalated = await uow.tasks.get(task.id or 0)
        assert await uow.timers.get(timer.key) is None
    assert escalated is not None and escalated.state == "escalated"
    assert escalated.version == 2
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        kinds = sorted((await conn.execute(text(
            "SELECT kind FROM outbox WHERE conversation = 'lisi'"))).scalars().all())
    assert kinds == ["card", "text"]  # the escalated card and the overdue note, once
    assert await events(engine, ORDER.key, "task_escalated") == 1
