"""Aggregates over the anomalies table for ``core.anomaly_stats`` (metrics and reports), with
the health rules' hit counts (``health_rule_hits``, per Beijing day: ``since`` counts from its
day).

Counts are grouped in SQL; the time to first action is summed in SQL too (seconds: epoch
difference on PostgreSQL, julianday difference on SQLite), so a scrape never loads rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.anomaly_stats import AnomalyStats
from core.clock import SHANGHAI
from storage.health import rule_hits
from storage.tables import AnomalyRow

anomalies_t = AnomalyRow.__table__  # type: ignore[attr-defined]


def _seconds(dialect: str, start: Any, end: Any) -> Any:
    if dialect == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


async def anomaly_stats(engine: AsyncEngine, *, since: datetime | None = None) -> AnomalyStats:
    """Figures over anomalies opened at or after ``since`` (all when None); what is open now
    is counted whatever its age."""
    a = anomalies_t.c
    window = [a.opened_at >= since] if since is not None else []
    async with engine.connect() as conn:
        opened, escalations = (await conn.execute(
            select(func.count(), func.coalesce(func.sum(a.level), 0)).where(*window))).one()
        closed = (await conn.execute(
            select(a.resolution, func.count()).where(a.status == "resolved", *window)
            .group_by(a.resolution))).all()
        acted, total = (await conn.execute(
            select(func.count(), func.coalesce(
                func.sum(_seconds(conn.dialect.name, a.opened_at, a.first_action_at)), 0.0))
            .where(a.first_action_at.is_not(None), *window))).one()
        open_rows = (await conn.execute(
            select(a.klass, a.code, func.count()).where(a.status == "open")
            .group_by(a.klass, a.code))).all()
        opened_rows = (await conn.execute(
            select(a.klass, a.code, func.count()).where(*window)
            .group_by(a.klass, a.code))).all()
        hits = await rule_hits(conn, since=None if since is None
                               else since.astimezone(SHANGHAI).date())
    closed_by: dict[str, int] = {}
    for how, n in closed:  # rows closed before 0009 have no resolution: by hand
        closed_by[str(how or "manual")] = closed_by.get(str(how or "manual"), 0) + int(n)
    return AnomalyStats(
        since=since, opened=int(opened), escalations=int(escalations), closed_by=closed_by,
        acted=int(acted), first_action_s_total=float(total),
        open_by_code={(str(k), str(c)): int(n) for k, c, n in open_rows},
        opened_by_code={(str(k), str(c)): int(n) for k, c, n in opened_rows},
        rule_hits=hits,
    )  # fmt: skip
