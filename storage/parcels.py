"""Parcels (tracking number -> order, channel, carrier), their scans, and the verification
tasks opened for parcels that went silent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.tracking import FINAL, Parcel, TraceLine, TrackingState
from storage.bulk import is_postgres
from storage.tables import OrderRow, TaskRow
from storage.tracking_tables import ParcelRow, ParcelTraceRow
from storage.upsert import insert_ignoring

parcels_t = ParcelRow.__table__  # type: ignore[attr-defined]
traces_t = ParcelTraceRow.__table__  # type: ignore[attr-defined]
orders_t = OrderRow.__table__  # type: ignore[attr-defined]
tasks_t = TaskRow.__table__  # type: ignore[attr-defined]
_OPEN = [s.value for s in TrackingState if s not in FINAL]


def to_parcel(row: Any) -> Parcel:
    return Parcel(
        carrier=row.carrier, tracking_no=row.tracking_no, order_key=row.order_key,
        channel=row.channel, source=row.source, registered_at=row.created_at,
        state=TrackingState(row.state), provider_state=row.provider_state,
        last_trace_at=row.last_trace_at, checked_at=row.checked_at, checked_by=row.checked_by,
        silence_flagged_at=row.silence_flagged_at, delivered_at=row.delivered_at,
        poll_failures=row.poll_failures, estimated_delivery=row.estimated_delivery, id=row.id,
    )


def to_line(row: Any) -> TraceLine:
    state = TrackingState(row.state) if row.state else None
    return TraceLine(row.at, row.context, row.area, state)


def _values(parcel: Parcel) -> dict[str, Any]:
    return {
        "state": parcel.state.value, "provider_state": parcel.provider_state,
        "last_trace_at": parcel.last_trace_at, "checked_at": parcel.checked_at,
        "checked_by": parcel.checked_by, "silence_flagged_at": parcel.silence_flagged_at,
        "delivered_at": parcel.delivered_at, "poll_failures": parcel.poll_failures,
        "estimated_delivery": parcel.estimated_delivery,
    }  # fmt: skip


class SqlParcels:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def register(self, parcel: Parcel, *, at: datetime) -> tuple[Parcel, bool]:
        found = await self.find(parcel.tracking_no, parcel.carrier)
        if found:
            stored = found[0]
            if stored.order_key is None and parcel.order_key is not None:
                await self._bind(stored, parcel, at)
                return (await self.get(stored.id or 0)) or stored, False
            return stored, False
        order_id = await self._order_id(parcel.order_key)
        values = {"carrier": parcel.carrier, "tracking_no": parcel.tracking_no,
                  "order_id": order_id, "order_key": parcel.order_key,
                  "channel": parcel.channel, "source": parcel.source, "next_poll_at": at,
                  "created_at": at, "updated_at": at, "subscribed": None, **_values(parcel)}
        result = await self._session.execute(insert(parcels_t).returning(parcels_t.c.id),
                                             [values])
        new_id = int(result.scalar_one())
        return (await self.get(new_id)) or parcel, True

    async def register_bound(self, parcels: Sequence[Parcel], *, at: datetime) -> int:
        """Register parcels whose order is stored in this transaction (a channel's waybills).
        A number already stored is left as it is (a re-push adds nothing), or bound to this
        order when it had none; new ones are inserted-or-nothing on (tracking number, carrier),
        so a concurrent batch with the same waybill cannot fail this one. Returns how many were
        new. Nothing leaves the transaction (no subscription): a new parcel is due for polling
        at once (``next_poll_at`` = ``at``)."""
        if not parcels:
            return 0
        query = select(parcels_t.c.tracking_no, parcels_t.c.carrier, parcels_t.c.order_key
                       ).where(parcels_t.c.tracking_no.in_({p.tracking_no for p in parcels}))
        stored = {(r.tracking_no, r.carrier): r.order_key
                  for r in (await self._session.execute(query)).all()}
        new = [p for p in parcels if (p.tracking_no, p.carrier) not in stored]
        unbound = [p for p in parcels if (p.tracking_no, p.carrier) in stored
                   and stored[p.tracking_no, p.carrier] is None]
        if not new and not unbound:
            return 0  # a re-push: one query
        ids = await self._order_ids({p.order_key for p in new + unbound if p.order_key})
        if new:
            rows = [{"carrier": p.carrier, "tracking_no": p.tracking_no,
                     "order_id": ids.get(p.order_key or ""), "order_key": p.order_key,
                     "channel": p.channel, "source": p.source, "next_poll_at": at,
                     "created_at": at, "updated_at": at, "subscribed": None, **_values(p)}
                    for p in new]
            await self._session.execute(
                insert_ignoring(parcels_t, ("tracking_no", "carrier"), tuple(rows[0])), rows)
        for p in unbound:
            await self._session.execute(
                update(parcels_t).where(parcels_t.c.tracking_no == p.tracking_no,
                                        parcels_t.c.carrier == p.carrier,
                                        parcels_t.c.order_key.is_(None))
                .values(order_key=p.order_key, order_id=ids.get(p.order_key or ""),
                        channel=p.channel, updated_at=at))
        return len(new)

    async def bind_waiting(self, order_keys: Sequence[str]) -> int:
        """Parcels registered with one of these order keys before the order was stored get its
        row id (the customer desk and the stalled scan join parcels by ``order_id``). One
        UPDATE ... FROM orders through the order_key index; usually it matches nothing."""
        numbers = {key.split(":", 1)[1] for key in order_keys if ":" in key}
        if not numbers:
            return 0
        key = orders_t.c.channel + literal(":") + orders_t.c.channel_order_id
        result = await self._session.execute(
            update(parcels_t).where(parcels_t.c.order_id.is_(None),
                                    parcels_t.c.order_key.in_(sorted(order_keys)),
                                    orders_t.c.channel_order_id.in_(sorted(numbers)),
                                    parcels_t.c.order_key == key)
            .values(order_id=orders_t.c.id))
        return int(getattr(result, "rowcount", 0) or 0)

    async def _bind(self, stored: Parcel, parcel: Parcel, at: datetime) -> None:
        await self._session.execute(
            update(parcels_t).where(parcels_t.c.id == stored.id).values(
                order_key=parcel.order_key, order_id=await self._order_id(parcel.order_key),
                channel=parcel.channel, updated_at=at))

    async def _order_ids(self, keys: set[str]) -> dict[str, int]:
        """Order id per ``channel:number`` key, in one query."""
        pairs = {tuple(key.split(":", 1)) for key in keys if ":" in key}
        if not pairs:
            return {}
        query = select(orders_t.c.id, orders_t.c.channel, orders_t.c.channel_order_id).where(
            orders_t.c.channel_order_id.in_({number for _, number in pairs}))
        return {f"{r.channel}:{r.channel_order_id}": int(r.id)
                for r in (await self._session.execute(query)).all()
                if (r.channel, r.channel_order_id) in pairs}

    async def _order_id(self, key: str | None) -> int | None:
        if key is None or ":" not in key:
            return None
        channel, number = key.split(":", 1)
        query = select(orders_t.c.id).where(orders_t.c.channel_order_id == number,
                                            orders_t.c.channel == channel)
        return (await self._session.execute(query)).scalar_one_or_none()

    async def get(self, parcel_id: int, *, lock: bool = False) -> Parcel | None:
        query = select(parcels_t).where(parcels_t.c.id == parcel_id)
        if lock and is_postgres(self._session):
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return None if row is None else to_parcel(row)

    async def find(self, tracking_no: str, carrier: str | None = None) -> list[Parcel]:
        query = select(parcels_t).where(parcels_t.c.tracking_no == tracking_no.strip())
        if carrier is not None:
            query = query.where(parcels_t.c.carrier == carrier)
        return [to_parcel(r) for r in (await self._session.execute(query)).all()]

    async def for_order(self, order_key: str) -> list[Parcel]:
        query = select(parcels_t).where(parcels_t.c.order_key == order_key).order_by(
            parcels_t.c.id)
        return [to_parcel(r) for r in (await self._session.execute(query)).all()]

    async def lines(self, parcel_id: int) -> list[TraceLine]:
        query = select(traces_t).where(traces_t.c.parcel_id == parcel_id).order_by(
            traces_t.c.at, traces_t.c.id)
        return [to_line(r) for r in (await self._session.execute(query)).all()]

    async def add_lines(self, parcel_id: int, provider: str, lines: Sequence[TraceLine], *,
                        at: datetime) -> int:
        if not lines:
            return 0
        query = select(traces_t.c.digest).where(traces_t.c.parcel_id == parcel_id)
        known = set((await self._session.execute(query)).scalars().all())
        rows = [{"parcel_id": parcel_id, "at": line.at, "context": line.text,
                 "area": (line.area or None) and line.area[:128],
                 "state": line.state.value if line.state else None, "provider": provider,
                 "digest": line.digest, "received_at": at}
                for line in lines if line.digest not in known]
        if rows:
            await self._session.execute(insert(traces_t), rows)
        return len(rows)

    async def save(self, parcel: Parcel, *, at: datetime, next_poll_at: datetime | None = None,
                   subscribed: str | None = None) -> None:
        values = _values(parcel) | {"updated_at": at}
        if next_poll_at is not None:
            values["next_poll_at"] = next_poll_at
        if subscribed is not None:
            values["subscribed"] = {"provider": subscribed, "at": at.isoformat()}
        await self._session.execute(
            update(parcels_t).where(parcels_t.c.id == parcel.id).values(values))

    async def due(self, now: datetime, limit: int) -> list[Parcel]:
        query = (select(parcels_t)
                 .where(parcels_t.c.next_poll_at <= now, parcels_t.c.state.in_(_OPEN))
                 .order_by(parcels_t.c.next_poll_at).limit(limit))
        return [to_parcel(r) for r in (await self._session.execute(query)).all()]

    async def silent(self, cutoff: datetime, limit: int) -> list[Parcel]:
        """Open parcels whose last activity is at or before ``cutoff`` and that were not
        flagged since (``core.tracking.is_silent`` makes the exact check)."""
        activity = func.coalesce(parcels_t.c.last_trace_at, parcels_t.c.created_at)
        query = (select(parcels_t)
                 .where(parcels_t.c.state.in_(_OPEN), activity <= cutoff,
                        or_(parcels_t.c.silence_flagged_at.is_(None),
                            and_(parcels_t.c.silence_flagged_at < activity)))
                 .order_by(parcels_t.c.id).limit(limit))
        return [to_parcel(r) for r in (await self._session.execute(query)).all()]

    async def open_verification(self, parcel: Parcel, *, reason: str, at: datetime,
                                deadline: datetime) -> int:
        """A task for ops: ask the carrier where the parcel is (a row in ``tasks``)."""
        values = {"order_id": await self._order_id(parcel.order_key),
                  "kind": "parcel_verification", "title": reason, "priority": "normal",
                  "status": "open", "owner": "role:ops", "deadline": deadline,
                  "source_text": None, "created_at": at,
                  "data": {"carrier": parcel.carrier, "tracking_no": parcel.tracking_no,
                           "order_key": parcel.order_key, "parcel_id": parcel.id,
                           "last_activity": parcel.last_activity.isoformat()}}
        result = await self._session.execute(insert(tasks_t).returning(tasks_t.c.id), [values])
        return int(result.scalar_one())
