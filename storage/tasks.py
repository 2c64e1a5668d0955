"""Chat tasks (``core.tasks``): store, load, change state with a compare-and-set on the
version; find the order a message means by tracking number or phone; and the order's
allocation priority.

``transition`` is the one way a task changes: ``UPDATE ... WHERE id = :id AND version =
:expected``; of two simultaneous taps exactly one matches, the other gets False and changes
nothing. ``source_ref`` is unique, so a chat message delivered twice makes one task.

``orders.priority`` is written only here (the canonical order does not carry it): there is no
allocation service yet, and ``ix_orders_allocation_queue`` (status, priority, created_at) is
the order it will take work in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.people import Role
from core.tasks import Priority, Task, TaskKind, TaskState
from storage.customers import phone_forms
from storage.parcels import orders_t, parcels_t, tasks_t

_ACTIVE = (TaskState.OPEN.value, TaskState.CLAIMED.value, TaskState.ESCALATED.value)
MAX_MATCHES = 10


class SqlTasks:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, task: Task) -> int:
        values = _values(task) | {"order_id": await self._order_id(task.order_key)}
        result = await self._session.execute(insert(tasks_t).values(values)
                                             .returning(tasks_t.c.id))
        return int(result.scalar_one())

    async def get(self, task_id: int) -> Task | None:
        row = (await self._session.execute(
            select(tasks_t).where(tasks_t.c.id == task_id))).first()
        return None if row is None else to_task(row)

    async def by_source(self, source_ref: str) -> Task | None:
        row = (await self._session.execute(
            select(tasks_t).where(tasks_t.c.source_ref == source_ref))).first()
        return None if row is None else to_task(row)

    async def active_for(self, order_key: str, kinds: Sequence[TaskKind]) -> list[Task]:
        """Open, claimed or escalated tasks of ``kinds`` on an order, oldest first."""
        query = (select(tasks_t).where(tasks_t.c.order_key == order_key,
                                       tasks_t.c.status.in_(_ACTIVE),
                                       tasks_t.c.kind.in_([k.value for k in kinds]))
                 .order_by(tasks_t.c.id))
        return [to_task(r) for r in (await self._session.execute(query)).all()]

    async def latest_active_by(self, person_id: str, kinds: Sequence[TaskKind]) -> Task | None:
        """The newest still-active task of ``kinds`` that ``person_id`` asked for."""
        query = (select(tasks_t).where(tasks_t.c.requested_by == person_id,
                                       tasks_t.c.status.in_(_ACTIVE),
                                       tasks_t.c.kind.in_([k.value for k in kinds]))
                 .order_by(tasks_t.c.id.desc()).limit(1))
        row = (await self._session.execute(query)).first()
        return None if row is None else to_task(row)

    async def transition(self, task: Task, *, expected_version: int) -> bool:
        """Store ``task``'s new state if the stored version is still ``expected_version``."""
        values = {k: v for k, v in _values(task).items()
                  if k in ("status", "claimed_by", "closed_by", "closed_at", "version",
                           "updated_at", "card_id")}
        result = await self._session.execute(
            update(tasks_t).where(tasks_t.c.id == task.id,
                                  tasks_t.c.version == expected_version)
            .values(values).returning(tasks_t.c.id))
        return result.scalar_one_or_none() is not None

    async def orders_by_tracking(self, tracking_no: str) -> list[str]:
        """Keys of the orders a tracking number is registered to (parcels registry)."""
        query = (select(orders_t.c.channel, orders_t.c.channel_order_id).distinct()
                 .join(parcels_t, parcels_t.c.order_id == orders_t.c.id)
                 .where(parcels_t.c.tracking_no == tracking_no.upper()).limit(MAX_MATCHES))
        return [f"{r.channel}:{r.channel_order_id}"
                for r in (await self._session.execute(query)).all()]

    async def orders_by_phone(self, phone: str) -> list[str]:
        """Keys of the newest orders to a receiver phone (as platforms store it)."""
        query = (select(orders_t.c.channel, orders_t.c.channel_order_id)
                 .where(orders_t.c.receiver_phone.in_(phone_forms(phone)))
                 .order_by(orders_t.c.created_at.desc()).limit(MAX_MATCHES))
        return [f"{r.channel}:{r.channel_order_id}"
                for r in (await self._session.execute(query)).all()]

    async def set_order_priority(self, order_key: str, priority: int) -> int | None:
        """Set the order's allocation priority; its previous value (None: no such order)."""
        channel, _, number = order_key.partition(":")
        where = (orders_t.c.channel == channel, orders_t.c.channel_order_id == number)
        before = (await self._session.execute(
            select(orders_t.c.priority).where(*where))).scalar_one_or_none()
        if before is not None and before != priority:
            await self._session.execute(update(orders_t).where(*where)
                                        .values(priority=priority))
        return None if before is None else int(before)

    async def _order_id(self, key: str | None) -> int | None:
        if not key:
            return None
        channel, _, number = key.partition(":")
        found = await self._session.execute(select(orders_t.c.id).where(
            orders_t.c.channel == channel, orders_t.c.channel_order_id == number))
        value = found.scalar_one_or_none()
        return None if value is None else int(value)


def _values(task: Task) -> dict[str, Any]:
    return {
        "kind": task.kind.value, "title": task.title, "priority": task.priority.value,
        "status": task.state.value, "owner": f"role:{task.owner_role.value}",
        "owner_role": task.owner_role.value, "deadline": task.deadline,
        "source_text": task.source_text, "data": dict(task.data),
        "created_at": task.created_at, "order_key": task.order_key,
        "requested_by": task.requested_by, "claimed_by": task.claimed_by,
        "card_id": task.card_id, "version": task.version, "source_ref": task.source_ref,
        "updated_at": task.closed_at or task.created_at, "closed_at": task.closed_at,
        "closed_by": task.closed_by,
    }


def to_task(row: Any) -> Task:
    """A stored row as a task; rows written by tracking (verification tasks) have no
    requester and name their owner as ``role:<role>``."""
    owner = row.owner_role or str(row.owner or "role:ops").removeprefix("role:")
    data = dict(row.data or {})
    return Task(
        kind=TaskKind(row.kind), title=row.title, priority=Priority(row.priority),
        owner_role=Role(owner), requested_by=row.requested_by or "system",
        created_at=row.created_at, deadline=row.deadline or row.created_at,
        order_key=row.order_key or data.get("order_key"), state=TaskState(row.status),
        claimed_by=row.claimed_by, closed_by=row.closed_by, closed_at=row.closed_at,
        source_text=row.source_text or "", source_ref=row.source_ref, card_id=row.card_id,
        data=data, version=int(row.version or 1), id=int(row.id))
