"""Per channel and day counters, incremented in the same transaction as the ingest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.counters import ChannelDay
from storage.tables import ChannelCounterRow
from storage.upsert import upsert_adding

counters_t = ChannelCounterRow.__table__  # type: ignore[attr-defined]
_FIELDS = ("received", "stored", "duplicates", "dead_lettered", "late")
_ADD = upsert_adding(counters_t, ("day", "channel"), ("day", "channel", *_FIELDS), _FIELDS)


class SqlCounters:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, rows: Sequence[ChannelDay]) -> None:
        """Add each row's counts to its (day, channel) row, creating it at need."""
        if rows:
            await self._session.execute(_ADD, [row.as_row() for row in rows])

    async def for_day(self, day: date) -> list[ChannelDay]:
        query = select(counters_t).where(counters_t.c.day == day).order_by(counters_t.c.channel)
        return [ChannelDay(**row._mapping) for row in (await self._session.execute(query)).all()]
