"""Anomalies by id and by order, and resolving one (a person tapped "不是重复")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.anomalies import Anomaly, AnomalyStatus
from storage.mapping import to_anomaly
from storage.tables import AnomalyRow

anomalies_t = AnomalyRow.__table__  # type: ignore[attr-defined]


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

    async def resolve(self, anomaly_id: int, *, at: datetime, by: str) -> bool:
        """Close an open anomaly; False when it was not open (already resolved)."""
        result = await self._session.execute(
            update(anomalies_t)
            .where(anomalies_t.c.id == anomaly_id,
                   anomalies_t.c.status == AnomalyStatus.OPEN.value)
            .values(status=AnomalyStatus.RESOLVED.value, resolved_at=at, resolved_by=by)
            .returning(anomalies_t.c.id))
        return result.scalar_one_or_none() is not None
