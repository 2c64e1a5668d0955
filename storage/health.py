"""What the health checks read and write in the ingest transaction: the stock snapshot
(``stock_levels``), rule-hit counters (``health_rule_hits``) and the open anomalies of the
orders a batch changed (to close the ones that no longer hold). Batched: one statement per
call whatever the batch size, and none at all for a batch with nothing to ask."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core.anomalies import Anomaly, AnomalyCode, AnomalyStatus
from core.health.hits import RuleHits
from storage.health_tables import HealthRuleHitRow, StockLevelRow
from storage.mapping import to_anomaly
from storage.tables import AnomalyRow
from storage.upsert import insert_for

hits_t = HealthRuleHitRow.__table__  # type: ignore[attr-defined]
stock_t = StockLevelRow.__table__  # type: ignore[attr-defined]
anomalies_t = AnomalyRow.__table__  # type: ignore[attr-defined]
_CHUNK = 500  # keys per IN (...) list


class SqlHealth:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def stock_levels(self, skus: Iterable[str]) -> dict[str, int]:
        """Units available for those of ``skus`` the table lists."""
        wanted = sorted(set(skus))
        levels: dict[str, int] = {}
        for start in range(0, len(wanted), _CHUNK):
            query = select(stock_t.c.sku, stock_t.c.available).where(
                stock_t.c.sku.in_(wanted[start:start + _CHUNK]))
            levels.update({sku: int(n) for sku, n in (await self._session.execute(query)).all()})
        return levels

    async def add_hits(self, rows: Sequence[RuleHits]) -> None:
        for row in rows:
            query = insert_for(self._session, hits_t).values(**row.as_row())
            query = query.on_conflict_do_update(
                index_elements=["day", "rule", "code", "mode"],
                set_={"hits": hits_t.c.hits + query.excluded.hits})
            await self._session.execute(query)

    async def open_anomalies(self, keys: Iterable[str], codes: Iterable[AnomalyCode]
                             ) -> list[Anomaly]:
        """Open anomalies of these codes on these orders, oldest first."""
        wanted, names = sorted(set(keys)), [code.value for code in codes]
        found: list[Anomaly] = []
        for start in range(0, len(wanted), _CHUNK):
            query = (select(anomalies_t)
                     .where(anomalies_t.c.order_key.in_(wanted[start:start + _CHUNK]),
                            anomalies_t.c.status == AnomalyStatus.OPEN.value,
                            anomalies_t.c.code.in_(names))
                     .order_by(anomalies_t.c.id))
            found += [to_anomaly(row) for row in (await self._session.execute(query)).all()]
        return found


async def load_stock(conn: AsyncConnection, levels: Mapping[str, int], *, at: datetime,
                     replace_all: bool = False) -> int:
    """Upsert ``levels`` (SKU -> units) in the caller's transaction; ``replace_all`` first
    empties the table (the file is the whole snapshot). Returns the rows written."""
    if replace_all:
        await conn.execute(delete(stock_t))
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for sku, available in sorted(levels.items()):
        query = dialect.insert(stock_t).values(sku=sku, available=available, updated_at=at)
        query = query.on_conflict_do_update(
            index_elements=["sku"], set_={"available": query.excluded.available,
                                          "updated_at": query.excluded.updated_at})
        await conn.execute(query)
    return len(levels)


async def rule_hits(conn: AsyncConnection, *, since: date | None = None
                    ) -> dict[tuple[str, str, str], int]:
    """(rule, code, mode) -> hits summed over days from ``since`` (all when None)."""
    h = hits_t.c
    query = select(h.rule, h.code, h.mode, func.sum(h.hits)).group_by(h.rule, h.code, h.mode)
    if since is not None:
        query = query.where(h.day >= since)
    return {(str(r), str(c), str(m)): int(n) for r, c, m, n in (await conn.execute(query)).all()}
