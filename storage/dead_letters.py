"""Dead letters: payloads that could not be processed, kept whole with the reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import DeadLetterRow

dead_t = DeadLetterRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    source: str
    reason: str
    raw: bytes
    digest: str | None  # SHA-256 of raw; None only on copies kept before migration 0006
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
    ) -> int:
        values = {"source": source, "reason": reason, "raw": raw, "content_type": content_type,
                  "received_at": received_at, "meta": dict(meta) if meta else None}
        result = await self._session.execute(insert(dead_t).returning(dead_t.c.id), [values])
        return int(result.scalar_one())

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
