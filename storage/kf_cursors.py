"""微信客服 sync cursors (table ``kf_cursors``, migration 0013): per kf account, the
``next_cursor`` after the last page whose messages are all on the inbox.

Why durable: without it a restart reads the account's last 3 days again (``kf/sync_msg``
without a cursor) and, past the inbox's dedup window, would answer old questions twice. Each
call is its own short transaction on the engine, written after the page's messages were put
on the inbox (the durable hand-off), like ``storage.poll_cursors``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.kf_tables import KfCursorRow
from storage.upsert import upsert_replacing

cursors_t = KfCursorRow.__table__  # type: ignore[attr-defined]


class SqlKfCursors:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, open_kfid: str) -> str:
        """The stored cursor, or "" (never synced: ``kf/sync_msg`` starts 3 days back)."""
        query = select(cursors_t.c.cursor).where(cursors_t.c.open_kfid == open_kfid)
        async with self._engine.connect() as conn:
            value = (await conn.execute(query)).scalar_one_or_none()
        return value or ""

    async def save(self, open_kfid: str, cursor: str, *, at: datetime) -> None:
        query = upsert_replacing(cursors_t, ("open_kfid",), ("open_kfid", "cursor", "synced_at"),
                                 ("cursor", "synced_at"))
        async with self._engine.begin() as conn:
            await conn.execute(query, {"open_kfid": open_kfid, "cursor": cursor,
                                       "synced_at": at})
