"""The customer desk's storage: the read side (orders by order number, tracking number or
phone, with their parcels and first/newest scans, in one statement) and customer bindings.

The desk serves customers at rate (hundreds of concurrent askers), so a query is one round
trip of index probes on a connection that opens no transaction (``create_read_engine``):

* the orders asked for are a ``UNION ALL`` of probes: ``uq_orders_identity`` by order number,
  ``uq_parcels_identity`` by tracking number, ``ix_orders_receiver_phone`` by phone (an ``OR``
  across two tables made PostgreSQL scan every order: 85 ms at 200,000 orders);
* each parcel's first and newest scan is one descent of ``ix_parcel_traces_parcel_at``;
* the statement is built once with a fixed number of parameters (unused ones NULL), so
  SQLAlchemy's compiled cache and asyncpg's prepared statements are reused every time.

Read only what an answer shows (no order lines, no anomalies). Binding a sender is a write:
it goes through the unit of work (``SqlCustomers``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, insert, select, union_all
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.customer_query import OrderFacts, ParcelView, phone_digits
from core.order import Receiver
from core.states import OrderState
from storage.parcels import orders_t, parcels_t, to_line, to_parcel, traces_t
from storage.tracking_tables import CustomerBindingRow

bindings_t = CustomerBindingRow.__table__  # type: ignore[attr-defined]
MAX_ORDERS = 20  # per way of asking (numbers, tracking numbers, phone)
REF_SLOTS = 3  # refs per statement (core.customer_query keeps at most 3 per message)
PHONE_FORMS = 5


def phone_forms(phone: str) -> list[str]:
    """How platforms store a mobile: bare, with +86 / 86, with dashes."""
    digits = phone_digits(phone)[-11:]
    return [digits, f"+86{digits}", f"86{digits}", f"+86-{digits}",
            f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"]


def _find_statement() -> Select[Any]:
    numbers = [bindparam(f"n{i}", type_=orders_t.c.channel_order_id.type)
               for i in range(REF_SLOTS)]
    refs = [bindparam(f"r{i}", type_=parcels_t.c.tracking_no.type) for i in range(REF_SLOTS)]
    phones = [bindparam(f"p{i}", type_=orders_t.c.receiver_phone.type)
              for i in range(PHONE_FORMS)]
    by_number = select(orders_t.c.id.label("id")).where(
        orders_t.c.channel_order_id.in_(numbers)).limit(MAX_ORDERS).subquery()
    by_parcel = select(parcels_t.c.order_id.label("id")).where(
        parcels_t.c.tracking_no.in_(refs)).limit(MAX_ORDERS).subquery()
    by_phone = select(orders_t.c.id.label("id")).where(
        orders_t.c.receiver_phone.in_(phones)).order_by(
        orders_t.c.created_at.desc()).limit(MAX_ORDERS).subquery()
    hits = union_all(*(select(q.c.id) for q in (by_number, by_parcel, by_phone))).subquery()
    first, latest, probe = traces_t.alias("first"), traces_t.alias("latest"), traces_t.alias("t")
    first_id = select(probe.c.id).where(probe.c.parcel_id == parcels_t.c.id).order_by(
        probe.c.at, probe.c.id).limit(1).correlate(parcels_t).scalar_subquery()
    latest_id = select(probe.c.id).where(probe.c.parcel_id == parcels_t.c.id).order_by(
        probe.c.at.desc(), probe.c.id.desc()).limit(1).correlate(parcels_t).scalar_subquery()
    columns = [*(c.label(f"o_{c.name}") for c in orders_t.c if c.name in _ORDER_FIELDS),
               *(c.label(f"p_{c.name}") for c in parcels_t.c if c.name in _PARCEL_FIELDS),
               *(c.label(f"f_{c.name}") for c in first.c if c.name in _LINE_FIELDS),
               *(c.label(f"l_{c.name}") for c in latest.c if c.name in _LINE_FIELDS)]
    joined = (orders_t.outerjoin(parcels_t, parcels_t.c.order_id == orders_t.c.id)
              .outerjoin(first, first.c.id == first_id)
              .outerjoin(latest, latest.c.id == latest_id))
    return (select(*columns).select_from(joined)
            .where(orders_t.c.id.in_(select(hits.c.id)))
            .order_by(orders_t.c.created_at.desc(), orders_t.c.id, parcels_t.c.id))


_ORDER_FIELDS = ("id", "channel", "channel_order_id", "status", "created_at", "receiver_name",
                 "receiver_phone", "receiver_province", "receiver_city", "receiver_district",
                 "receiver_address")
_PARCEL_FIELDS = ("id", "carrier", "tracking_no", "order_key", "channel", "source", "state",
                  "provider_state", "last_trace_at", "checked_at", "checked_by",
                  "silence_flagged_at", "delivered_at", "poll_failures", "estimated_delivery",
                  "created_at")  # what to_parcel reads
_LINE_FIELDS = ("at", "context", "area", "state")  # what to_line reads
_FIND = _find_statement()
_BOUND = select(bindings_t.c.phone_digest).where(
    bindings_t.c.platform == bindparam("platform"),
    bindings_t.c.sender_id == bindparam("sender_id"))


class SqlCustomerReader:
    """Orders a customer names, and the phones a sender is bound to: committed data, read
    without a transaction on ``create_read_engine``'s pool."""

    def __init__(self, engine: AsyncEngine, *, slots: int | None = None) -> None:
        """``slots``: reads in flight at once, the pool's size by default. Askers beyond
        them queue here, first come first served: the pool's own queue lets a newcomer take
        a connection just returned while a woken waiter goes to the back of the line (under
        200 concurrent askers some waited 10 s while most took a millisecond)."""
        self._engine = engine
        size = getattr(engine.pool, "size", None)
        self._slots = asyncio.Semaphore(slots or (size() if callable(size) else 5))

    async def find(self, refs: Sequence[str], phone: str | None) -> list[OrderFacts]:
        """Orders an order number (``channel:number`` names one channel's), a tracking
        number or a full phone names; newest first."""
        found: dict[str, OrderFacts] = {}
        for start in range(0, max(len(refs), 1), REF_SLOTS):
            chunk = refs[start:start + REF_SLOTS]
            if not chunk and phone is None:
                break
            rows = await self._rows(_FIND, _find_params(chunk, phone if start == 0 else None))
            for order in _orders(rows, chunk, phone if start == 0 else None):
                found.setdefault(order.key, order)
        return sorted(found.values(), key=lambda o: o.created_at, reverse=True)

    async def bound(self, platform: str, sender_id: str, digests: Iterable[str]) -> set[str]:
        """Which of these phone digests the sender is bound to (one probe of the key)."""
        wanted = {d for d in digests if d}
        if not wanted:
            return set()
        rows = await self._rows(_BOUND, {"platform": platform, "sender_id": sender_id})
        return {row.phone_digest for row in rows} & wanted

    async def _rows(self, statement: Any, params: dict[str, Any]) -> Sequence[Any]:
        """Run one read; once more on a fresh connection if the pooled one had died (the
        database restarted: no pre-ping on this pool)."""
        try:
            return await self._once(statement, params)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            return await self._once(statement, params)

    async def _once(self, statement: Any, params: dict[str, Any]) -> Sequence[Any]:
        async with self._slots, self._engine.connect() as conn:
            return (await conn.execute(statement, params)).all()


def _find_params(refs: Sequence[str], phone: str | None) -> dict[str, Any]:
    numbers = [r.split(":", 1)[1] if ":" in r else r for r in refs]
    forms: list[str | None] = list(phone_forms(phone)) if phone else []
    params: dict[str, Any] = {}
    for i in range(REF_SLOTS):
        params[f"n{i}"] = numbers[i] if i < len(numbers) else None
        params[f"r{i}"] = refs[i] if i < len(refs) else None
    for i in range(PHONE_FORMS):
        params[f"p{i}"] = forms[i] if i < len(forms) else None
    return params


class _Columns:
    """One table's columns in a joined row, labelled ``prefix + name``, by attribute (what
    ``to_parcel`` / ``to_line`` read)."""

    __slots__ = ("_prefix", "_row")

    def __init__(self, row: Any, prefix: str) -> None:
        self._row, self._prefix = row, prefix

    def __getattr__(self, name: str) -> Any:
        return self._row._mapping[self._prefix + name]


def _orders(rows: Sequence[Any], refs: Sequence[str], phone: str | None) -> list[OrderFacts]:
    """Group the joined rows (one per parcel) into orders, dropping an order a
    ``channel:number`` ref did not name (the same number in another channel)."""
    parcels: dict[int, list[ParcelView]] = {}
    heads: dict[int, Any] = {}
    for row in rows:
        order_id = row.o_id
        heads.setdefault(order_id, row)
        views = parcels.setdefault(order_id, [])
        if row.p_id is not None:
            first = to_line(_Columns(row, "f_")) if row.f_at is not None else None
            latest = to_line(_Columns(row, "l_")) if row.l_at is not None else None
            views.append(ParcelView(to_parcel(_Columns(row, "p_")), latest, first))
    forms = set(phone_forms(phone)) if phone else set()
    return [_order(row, tuple(parcels[order_id])) for order_id, row in heads.items()
            if row.o_receiver_phone in forms or _named(row, refs)]


def _named(row: Any, refs: Sequence[str]) -> bool:
    """A ``channel:number`` ref names only that channel's order."""
    number, channel = row.o_channel_order_id, row.o_channel
    qualified = [r for r in refs if ":" in r]
    if not qualified or number not in [r.split(":", 1)[1] for r in qualified]:
        return True
    return f"{channel}:{number}" in qualified


def _order(row: Any, parcels: tuple[ParcelView, ...]) -> OrderFacts:
    receiver = Receiver(name=row.o_receiver_name, phone=row.o_receiver_phone,
                        province=row.o_receiver_province, city=row.o_receiver_city,
                        district=row.o_receiver_district, address=row.o_receiver_address)
    return OrderFacts(f"{row.o_channel}:{row.o_channel_order_id}", row.o_channel,
                      row.o_channel_order_id, OrderState(row.o_status), row.o_created_at,
                      receiver, parcels)


class SqlCustomers:
    """Customer bindings, written in the unit of work's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def bind(self, platform: str, sender_id: str, digest: str, *, via: str,
                   at: datetime) -> None:
        query = select(bindings_t.c.phone_digest).where(
            bindings_t.c.platform == platform, bindings_t.c.sender_id == sender_id,
            bindings_t.c.phone_digest == digest)
        if (await self._session.execute(query)).first() is not None:
            return
        await self._session.execute(insert(bindings_t), [
            {"platform": platform, "sender_id": sender_id, "phone_digest": digest,
             "via": via[:120], "bound_at": at}])
