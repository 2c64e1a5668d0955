"""Anomalies by id and by order; opening, escalating, touching and resolving one.

Every change is a conditional UPDATE on the current state (open, at the expected level), so
two workers racing on one anomaly (a timer firing while a person taps) have one winner.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.anomalies import Anomaly, AnomalyCode, AnomalyStatus, Resolution
from storage.mapping import to_anomaly
from storage.tables import AnomalyRow, OrderEventRow, OrderRow
from storage.tracking_tables import ParcelRow

anomalies_t = AnomalyRow.__table__  # type: ignore[attr-defined]
orders_t = OrderRow.__table__  # type: ignore[attr-defined]
events_t = OrderEventRow.__table__  # type: ignore[attr-defined]
parcels_t = ParcelRow.__table__  # type: ignore[attr-defined]
_OPEN = AnomalyStatus.OPEN.value
_STATE_EVENTS = ("ingested", "state_changed")


class SqlAnomalies:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, anomaly_id: int) -> Anomaly | None:
        row = (await self._session.execute(
            select(anomalies_t).where(anomalies_t.c.id == anomaly_id))).first()
        return None if row is None else to_anomaly(row)

    async def for_order(self, key: str) -> list[Anomaly]:
        query = (select(anomalies_t).where(anomalies_t.c.order_key == key)
                 .order_by(anomalies_t.c.id))
        return [to_anomaly(row) for row in (await self._session.execute(query)).all()]

    async def add(self, anomaly: Anomaly) -> int:
        """Store a new anomaly on its (stored) order; returns its id."""
        channel, channel_order_id = anomaly.order_key.split(":", 1)
        order_id = (select(orders_t.c.id)
                    .where(orders_t.c.channel == channel,
                           orders_t.c.channel_order_id == channel_order_id)
                    .scalar_subquery())
        values: dict[str, Any] = {
            "order_id": order_id, "order_key": anomaly.order_key, "code": anomaly.code.value,
            "klass": anomaly.klass.value, "blocking": anomaly.blocking,
            "status": anomaly.status.value, "reason": anomaly.reason,
            "data": dict(anomaly.data), "opened_at": anomaly.opened_at,
            "level": anomaly.level, "owner_role": anomaly.owner_role,
        }  # fmt: skip
        result = await self._session.execute(
            insert(anomalies_t).values(values).returning(anomalies_t.c.id))
        return int(result.scalar_one())

    async def resolve(self, anomaly_id: int, *, at: datetime, by: str,
                      how: Resolution = Resolution.MANUAL) -> bool:
        """Close an open anomaly; False when it was not open (already resolved)."""
        result = await self._session.execute(
            update(anomalies_t)
            .where(anomalies_t.c.id == anomaly_id, anomalies_t.c.status == _OPEN)
            .values(status=AnomalyStatus.RESOLVED.value, resolved_at=at, resolved_by=by,
                    resolution=how.value,
                    first_action_at=func.coalesce(anomalies_t.c.first_action_at, at))
            .returning(anomalies_t.c.id))
        return result.scalar_one_or_none() is not None

    async def escalate(self, anomaly_id: int, *, from_level: int) -> bool:
        """Move an open, untouched anomaly one level up the chain (compare-and-set on the
        level); False when it was resolved, touched, or escalated meanwhile."""
        result = await self._session.execute(
            update(anomalies_t)
            .where(anomalies_t.c.id == anomaly_id, anomalies_t.c.status == _OPEN,
                   anomalies_t.c.level == from_level,
                   anomalies_t.c.first_action_at.is_(None))
            .values(level=from_level + 1).returning(anomalies_t.c.id))
        return result.scalar_one_or_none() is not None

    async def touch(self, anomaly_id: int, *, at: datetime) -> bool:
        """Record the first action on an anomaly (a tap); True only the first time."""
        result = await self._session.execute(
            update(anomalies_t)
            .where(anomalies_t.c.id == anomaly_id, anomalies_t.c.first_action_at.is_(None))
            .values(first_action_at=at).returning(anomalies_t.c.id))
        return result.scalar_one_or_none() is not None

    async def open_codes(self, key: str) -> list[str]:
        query = select(anomalies_t.c.code).where(
            and_(anomalies_t.c.order_key == key, anomalies_t.c.status == _OPEN))
        return [row[0] for row in (await self._session.execute(query)).all()]

    async def stalled_orders(self, *, before: datetime, states: Sequence[str],
                             limit: int) -> list[str]:
        """Orders in ``states`` with no sign of movement since ``before`` and no open
        ORDER_STALLED anomaly: what the stalled scan opens one on.

        Movement is a state event (ingested / state_changed) or a carrier scan of one of the
        order's parcels (``parcels.last_trace_at``, the newest scan): a parcel in transit for
        days keeps its state (in_transit -> in_transit) while it is scanned at every hub, and
        is not stalled. A parcel that stops being scanned is the silence check's first
        (``handlers.check_silence``, 36 h), then stalls here like an order without parcels.
        Each test is a NOT EXISTS probe on an index (uq_order_events_seq, ix_parcels_order_id,
        ix_anomalies_order_status)."""
        moved = (select(events_t.c.id).where(events_t.c.order_id == orders_t.c.id,
                                             events_t.c.kind.in_(_STATE_EVENTS),
                                             events_t.c.at >= before).exists())
        scanned = (select(parcels_t.c.id).where(parcels_t.c.order_id == orders_t.c.id,
                                                parcels_t.c.last_trace_at >= before).exists())
        flagged = (select(anomalies_t.c.id).where(
            anomalies_t.c.order_id == orders_t.c.id, anomalies_t.c.status == _OPEN,
            anomalies_t.c.code == AnomalyCode.ORDER_STALLED.value).exists())
        query = (select(orders_t.c.channel, orders_t.c.channel_order_id)
                 .where(orders_t.c.status.in_(list(states)), ~moved, ~scanned, ~flagged)
                 .order_by(orders_t.c.id).limit(limit))
        return [f"{r.channel}:{r.channel_order_id}"
                for r in (await self._session.execute(query)).all()]
