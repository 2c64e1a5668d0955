"""Per channel and day counters, incremented in the same transaction as the ingest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.counters import ChannelDay
from storage.tables import ChannelCounterRow
from storage.upsert import insert_for

counters_t = ChannelCounterRow.__table__  # type: ignore[attr-defined]
_FIELDS = ("received", "stored", "duplicates", "dead_lettered", "late")


class SqlCounters:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, rows: Sequence[ChannelDay]) -> None:
        for row in rows:
            query = insert_for(self._session, counters_t).values(**row.as_row())
            query = query.on_conflict_do_update(
                index_elements=["day", "channel"],
                set_={name: counters_t.c[name] + query.excluded[name] for name in _FIELDS},
            )
            await self._session.execute(query)

    async def for_day(self, day: date) -> list[ChannelDay]:
        query = select(counters_t).where(counters_t.c.day == day).order_by(counters_t.c.channel)
        return [ChannelDay(**row._mapping) for row in (await self._session.execute(query)).all()]
