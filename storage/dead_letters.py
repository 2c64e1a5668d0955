"""Dead letters: payloads that could not be processed, kept whole with the reason.

Kept once per (source, raw bytes): at-least-once delivery may hand a worker the same poison
payload twice (a reclaim after a slow batch), and the second must neither add a row nor be
counted or announced again. The SHA-256 of the bytes and a unique index decide.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.card_pacing import SourceCount
from storage.tables import DeadLetterRow
from storage.upsert import insert_for

dead_t = DeadLetterRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    source: str
    reason: str
    raw: bytes
    digest: str | None  # None only on copies kept before migration 0006
    content_type: str | None
    received_at: datetime
    replayed_at: datetime | None
    replay_result: str | None
    meta: dict[str, Any] | None


class SqlDeadLetters:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self, *, source: str, reason: str, raw: bytes, received_at: datetime,
        content_type: str | None = None, meta: Mapping[str, object] | None = None,
    ) -> int | None:
        """The new letter's id, or None when the same bytes from the same source are already
        kept (insert-or-nothing: the earlier letter, its reason and replay state stand)."""
        values = {"source": source, "reason": reason, "raw": raw,
                  "digest": hashlib.sha256(raw).hexdigest(), "content_type": content_type,
                  "received_at": received_at, "meta": dict(meta) if meta else None}
        query = (insert_for(self._session, dead_t)
                 .on_conflict_do_nothing(index_elements=["source", "digest"])
                 .returning(dead_t.c.id))
        result = await self._session.execute(query, [values])
        letter_id = result.scalar_one_or_none()
        return None if letter_id is None else int(letter_id)

    async def get(self, letter_id: int) -> DeadLetter | None:
        row = (await self._session.execute(select(dead_t).where(dead_t.c.id == letter_id))).first()
        return None if row is None else DeadLetter(**row._mapping)

    async def list(self, *, limit: int = 50, pending_only: bool = False) -> list[DeadLetter]:
        query = select(dead_t).order_by(dead_t.c.id.desc()).limit(limit)
        if pending_only:
            query = query.where(dead_t.c.replayed_at.is_(None))
        return [DeadLetter(**row._mapping) for row in (await self._session.execute(query)).all()]

    async def mark_replayed(self, letter_id: int, *, at: datetime, result: str) -> None:
        await self._session.execute(
            update(dead_t).where(dead_t.c.id == letter_id)
            .values(replayed_at=at, replay_result=result)
        )  # fmt: skip

    async def by_source(self, *, since: datetime, until: datetime
                        ) -> builtins.list[SourceCount]:
        """Letters received in [since, until), per source, most first (a digest card)."""
        grouped = (await self._session.execute(
            select(dead_t.c.source, func.count().label("n"), func.max(dead_t.c.id).label("last"))
            .where(dead_t.c.received_at >= since, dead_t.c.received_at < until)
            .group_by(dead_t.c.source))).all()
        if not grouped:
            return []
        latest = select(dead_t.c.id, dead_t.c.reason).where(
            dead_t.c.id.in_([row.last for row in grouped]))
        reasons: dict[int, str] = {int(i): str(r) for i, r in
                                   (await self._session.execute(latest)).all()}
        found = [SourceCount(row.source, int(row.n), int(row.last), reasons[row.last])
                 for row in grouped]
        return sorted(found, key=lambda c: (-c.count, c.source))
