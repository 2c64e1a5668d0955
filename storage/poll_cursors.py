"""Poll cursors: where each shop's order polling stands (table ``poll_cursors``, migration 0004).

Why a row per shop and not a timestamp in memory: the next window must start where the last
*successful* run ended, across restarts and across the workers that take turns holding the
shop's lock. A failed run never moves ``last_end``; it only records ``last_error`` so the next
run retries the same window, and an operator can see which shop is stuck and why.

Each call is its own short transaction on the engine: a cursor is written after the pages are
queued (the inbox is the durable hand-off), never inside an order transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import PollCursorRow

cursors_t = PollCursorRow.__table__  # type: ignore[attr-defined]
ERROR_MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class PollCursor:
    """``last_end`` is None until a run succeeded (the first window then looks back a day)."""

    channel: str
    shop_id: str
    last_end: datetime | None
    last_run_at: datetime
    last_error: str | None = None


class SqlPollCursors:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, channel: str, shop_id: str) -> PollCursor | None:
        query = select(cursors_t).where(cursors_t.c.channel == channel,
                                        cursors_t.c.shop_id == shop_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
        return None if row is None else PollCursor(**row._mapping)

    async def advance(self, channel: str, shop_id: str, *, end: datetime,
                      at: datetime) -> None:
        """A run queued every page up to ``end``: the next window starts there (less overlap)."""
        await self._upsert({"channel": channel, "shop_id": shop_id, "last_end": end,
                            "last_run_at": at, "last_error": None},
                           ("last_end", "last_run_at", "last_error"))

    async def fail(self, channel: str, shop_id: str, *, error: str, at: datetime) -> None:
        """A run failed: keep ``last_end`` (the window is retried), record why and when."""
        await self._upsert({"channel": channel, "shop_id": shop_id, "last_end": None,
                            "last_run_at": at, "last_error": error[:ERROR_MAX_CHARS]},
                           ("last_run_at", "last_error"))

    async def all(self) -> list[PollCursor]:
        query = select(cursors_t).order_by(cursors_t.c.channel, cursors_t.c.shop_id)
        async with self._engine.connect() as conn:
            return [PollCursor(**row._mapping) for row in (await conn.execute(query)).all()]

    async def _upsert(self, values: dict[str, Any], updated: tuple[str, ...]) -> None:
        insert: Any = (postgresql.insert if self._engine.dialect.name == "postgresql"
                       else sqlite.insert)(cursors_t)
        query = insert.values(**values)
        query = query.on_conflict_do_update(
            index_elements=["channel", "shop_id"],
            set_={name: query.excluded[name] for name in updated})
        async with self._engine.begin() as conn:
            await conn.execute(query)
