"""Card pacing windows: how many cards of one kind went out per fixed window, across every
worker process, and whether the window's digest was sent (``core.card_pacing`` decides)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.chat_tables import CardWindowRow
from storage.upsert import insert_for

windows_t = CardWindowRow.__table__  # type: ignore[attr-defined]


class SqlCardWindows:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def hit(self, kind: str, window_start: datetime, n: int) -> int:
        """Count ``n`` more in the window; the window's count afterwards. One atomic upsert:
        concurrent workers queue on the row (PostgreSQL) or the write lock (SQLite), so two
        of them never both take the last free slot."""
        query = insert_for(self._session, windows_t).values(
            kind=kind, window_start=window_start, count=n)
        query = query.on_conflict_do_update(
            index_elements=["kind", "window_start"],
            set_={"count": windows_t.c.count + query.excluded.count},
        ).returning(windows_t.c.count)
        return int((await self._session.execute(query)).scalar_one())

    async def over_limit(self, kind: str, *, limit: int, started_before: datetime
                         ) -> list[tuple[datetime, int]]:
        """(start, count) of windows that began before ``started_before`` (closed ones, when
        given now - window), went over ``limit`` and have had no digest yet."""
        query = (select(windows_t.c.window_start, windows_t.c.count)
                 .where(windows_t.c.kind == kind, windows_t.c.count > limit,
                        windows_t.c.digest_at.is_(None),
                        windows_t.c.window_start < started_before)
                 .order_by(windows_t.c.window_start))
        return [(start, int(count)) for start, count in (await self._session.execute(query)).all()]

    async def mark_digested(self, kind: str, window_start: datetime, *, at: datetime) -> bool:
        """Compare-and-set: True for exactly one caller per window (two schedulers, one
        digest)."""
        result = await self._session.execute(
            update(windows_t)
            .where(windows_t.c.kind == kind, windows_t.c.window_start == window_start,
                   windows_t.c.digest_at.is_(None))
            .values(digest_at=at).returning(windows_t.c.kind))
        return result.scalar_one_or_none() is not None

    async def prune(self, *, before: datetime) -> None:
        """Forget windows that started before ``before`` (their digests are long sent)."""
        await self._session.execute(delete(windows_t).where(windows_t.c.window_start < before))
