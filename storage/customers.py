"""The customer-query read side: orders by order number, tracking number or phone, with their
parcels and first/newest scans, in four queries whatever was asked; and customer bindings.

Read only what an answer shows (no order lines, no anomalies): this path serves customers at
rate and must stay a few index lookups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.customer_query import OrderFacts, ParcelView, phone_digits
from core.order import Receiver
from core.states import OrderState
from storage.parcels import orders_t, parcels_t, to_line, to_parcel, traces_t
from storage.tracking_tables import CustomerBindingRow

bindings_t = CustomerBindingRow.__table__  # type: ignore[attr-defined]
_ORDER_COLUMNS = (orders_t.c.id, orders_t.c.channel, orders_t.c.channel_order_id,
                  orders_t.c.status, orders_t.c.created_at, orders_t.c.receiver_name,
                  orders_t.c.receiver_phone, orders_t.c.receiver_province,
                  orders_t.c.receiver_city, orders_t.c.receiver_district,
                  orders_t.c.receiver_address)
MAX_ORDERS = 20


def phone_forms(phone: str) -> list[str]:
    """How platforms store a mobile: bare, with +86 / 86, with dashes."""
    digits = phone_digits(phone)[-11:]
    return [digits, f"+86{digits}", f"86{digits}", f"+86-{digits}",
            f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"]


class SqlCustomers:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def by_refs(self, refs: Sequence[str]) -> list[OrderFacts]:
        if not refs:
            return []
        numbers = [r.split(":", 1)[1] if ":" in r else r for r in refs]
        by_parcel = select(parcels_t.c.order_id).where(parcels_t.c.tracking_no.in_(refs))
        query = select(*_ORDER_COLUMNS).where(or_(orders_t.c.channel_order_id.in_(numbers),
                                                  orders_t.c.id.in_(by_parcel)))
        rows = [r for r in (await self._session.execute(query.limit(MAX_ORDERS))).all()
                if _named(r, refs)]
        return await self._facts(rows)

    async def by_phone(self, phone: str) -> list[OrderFacts]:
        query = select(*_ORDER_COLUMNS).where(
            orders_t.c.receiver_phone.in_(phone_forms(phone))).order_by(
            orders_t.c.created_at.desc()).limit(MAX_ORDERS)
        return await self._facts((await self._session.execute(query)).all())

    async def _facts(self, rows: Sequence[Any]) -> list[OrderFacts]:
        if not rows:
            return []
        ids = [row.id for row in rows]
        parcels = (await self._session.execute(
            select(parcels_t).where(parcels_t.c.order_id.in_(ids)).order_by(parcels_t.c.id)
        )).all()
        ends = await self._ends([p.id for p in parcels])
        views: dict[int, list[ParcelView]] = defaultdict(list)
        for row in parcels:
            first, latest = ends.get(row.id, (None, None))
            views[row.order_id].append(ParcelView(to_parcel(row), latest, first))
        return [_order(row, tuple(views.get(row.id, ()))) for row in rows]

    async def _ends(self, parcel_ids: list[int]) -> dict[int, tuple[Any, Any]]:
        """First and newest scan of each parcel."""
        if not parcel_ids:
            return {}
        query = select(traces_t).where(traces_t.c.parcel_id.in_(parcel_ids)).order_by(
            traces_t.c.parcel_id, traces_t.c.at, traces_t.c.id)
        ends: dict[int, tuple[Any, Any]] = {}
        for row in (await self._session.execute(query)).all():
            line = to_line(row)
            first = ends[row.parcel_id][0] if row.parcel_id in ends else line
            ends[row.parcel_id] = (first, line)
        return ends

    async def bound(self, platform: str, sender_id: str, digests: Iterable[str]) -> set[str]:
        wanted = [d for d in digests if d]
        if not wanted:
            return set()
        query = select(bindings_t.c.phone_digest).where(
            bindings_t.c.platform == platform, bindings_t.c.sender_id == sender_id,
            bindings_t.c.phone_digest.in_(wanted))
        return set((await self._session.execute(query)).scalars().all())

    async def bind(self, platform: str, sender_id: str, digest: str, *, via: str,
                   at: datetime) -> None:
        if await self.bound(platform, sender_id, [digest]):
            return
        await self._session.execute(insert(bindings_t), [
            {"platform": platform, "sender_id": sender_id, "phone_digest": digest,
             "via": via[:120], "bound_at": at}])


def _named(row: Any, refs: Sequence[str]) -> bool:
    """A ``channel:number`` ref names only that channel's order."""
    qualified = [r for r in refs if ":" in r]
    if not qualified or row.channel_order_id not in [r.split(":", 1)[1] for r in qualified]:
        return True
    return f"{row.channel}:{row.channel_order_id}" in qualified


def _order(row: Any, parcels: tuple[ParcelView, ...]) -> OrderFacts:
    receiver = Receiver(name=row.receiver_name, phone=row.receiver_phone,
                        province=row.receiver_province, city=row.receiver_city,
                        district=row.receiver_district, address=row.receiver_address)
    return OrderFacts(f"{row.channel}:{row.channel_order_id}", row.channel,
                      row.channel_order_id, OrderState(row.status), row.created_at, receiver,
                      parcels)
