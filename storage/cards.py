"""Cards we sent: their last rendering and version (compare-and-set on every click)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.cards import CardKind, CardRecord
from core.chat import card_from_json, card_to_json
from storage.chat_tables import CardRow

cards_t = CardRow.__table__  # type: ignore[attr-defined]


class SqlCards:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, record: CardRecord, *, at: datetime) -> None:
        await self._session.execute(insert(cards_t), [_values(record, at) | {"created_at": at}])

    async def get(self, card_id: str) -> CardRecord | None:
        query = select(cards_t).where(cards_t.c.card_id == card_id)
        row = (await self._session.execute(query)).first()
        return None if row is None else _record(row)

    async def replace(self, record: CardRecord, *, expected_version: int, at: datetime) -> bool:
        """Store ``record`` if the stored version is still ``expected_version`` (one winner)."""
        result = await self._session.execute(
            update(cards_t)
            .where(cards_t.c.card_id == record.card_id, cards_t.c.version == expected_version)
            .values(_values(record, at))
            .returning(cards_t.c.card_id))
        return result.scalar_one_or_none() is not None


    async def for_ref(self, kind: CardKind, ref: str, order_key: str) -> list[CardRecord]:
        """Every card of ``kind`` about ``ref`` on one order (the order_key index finds them)."""
        query = (select(cards_t).where(cards_t.c.order_key == order_key,
                                       cards_t.c.kind == kind.value, cards_t.c.ref == ref)
                 .order_by(cards_t.c.created_at, cards_t.c.card_id))
        return [_record(row) for row in (await self._session.execute(query)).all()]


def _values(record: CardRecord, at: datetime) -> dict[str, Any]:
    return {"card_id": record.card_id, "kind": record.kind.value, "ref": record.ref,
            "order_key": record.order_key, "version": record.version,
            "doc": card_to_json(record.card), "handled_by": record.handled_by,
            "handled_at": record.handled_at, "updated_at": at}


def _record(row: Any) -> CardRecord:
    return CardRecord(card_from_json(row.doc), CardKind(row.kind), row.ref, row.order_key,
                      row.handled_by, row.handled_at)
