"""The order repository: load orders with their chain heads and holds, save what core decided.

Batches are the normal case (ingestion), so loading and saving take many orders at a time:
one query per table per batch, not per order. On PostgreSQL the loaded rows are locked
(``FOR UPDATE``) until commit, so two workers never interleave writes to one order; SQLite
writers are serialised by ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from core.anomalies import Anomaly
from core.batch import BatchOutcome
from core.errors import ConcurrencyError
from core.events import ChainHead, OrderEvent
from core.fingerprint import duplicate_group_lock, duplicate_probe_keys
from core.held_status import SETTLING_KINDS, DeferredStatus, pending_deferral
from core.ingest import StoredOrder
from core.order import Order
from storage.bulk import allocate_ids, bulk_insert, is_postgres
from storage.mapping import event_values, line_values, order_values, to_anomaly, to_event, to_order
from storage.tables import AnomalyRow, OrderEventRow, OrderLineRow, OrderRow

orders_t = OrderRow.__table__  # type: ignore[attr-defined]
lines_t = OrderLineRow.__table__  # type: ignore[attr-defined]
events_t = OrderEventRow.__table__  # type: ignore[attr-defined]
anomalies_t = AnomalyRow.__table__  # type: ignore[attr-defined]

# ``priority`` is not part of the canonical order: the task layer raises it (storage/tasks.py)
_UPDATE_COLUMNS = [c.name for c in orders_t.columns if c.name not in ("id", "channel",
                                                                       "channel_order_id",
                                                                       "priority")]
_UPDATE = (
    update(orders_t)
    .where(orders_t.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}") for name in _UPDATE_COLUMNS})
)


class SqlOrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._ids: dict[str, int] = {}
        self._versions: dict[str, int] = {}
        self._loaded: dict[str, Order] = {}

    async def load_many(self, keys: Iterable[str], *, lock: bool = True) -> dict[str, StoredOrder]:
        """Stored orders for the given ``channel:id`` keys (missing keys are simply absent)."""
        wanted = set(keys)
        if not wanted:
            return {}
        ids = sorted({key.split(":", 1)[1] for key in wanted})
        query = _lookup(self._session, orders_t.c.channel_order_id, lock=lock)
        rows = [r for r in (await self._session.execute(query, {"one_of": ids})).all()
                if f"{r.channel}:{r.channel_order_id}" in wanted]
        return await self._hydrate(rows)

    async def _hydrate(self, rows: Sequence[Any]) -> dict[str, StoredOrder]:
        by_id = {row.id: row for row in rows}
        lines = await self._lines(by_id)
        holds = await self._holds(by_id)
        deferred = await self._deferred([i for i in by_id if holds.get(i)])
        stored: dict[str, StoredOrder] = {}
        for row in rows:
            order = to_order(row, lines.get(row.id, []))
            self._ids[order.key], self._versions[order.key] = row.id, row.version
            self._loaded[order.key] = order
            head = ChainHead(row.head_seq, row.head_hash)
            stored[order.key] = StoredOrder(order, head, tuple(sorted(holds.get(row.id, ()))),
                                            row.version, deferred.get(row.id))
        return stored

    async def _lines(self, by_id: dict[int, Any]) -> dict[int, list[Any]]:
        grouped: dict[int, list[Any]] = defaultdict(list)
        if by_id:
            query = _lookup(self._session, lines_t.c.order_id)
            for line in sorted((await self._session.execute(query, {"one_of": list(by_id)})
                                ).all(),
                               key=lambda line: (line.order_id, line.position)):
                grouped[line.order_id].append(line)
        return grouped

    async def _holds(self, by_id: dict[int, Any]) -> dict[int, set[str]]:
        grouped: dict[int, set[str]] = defaultdict(set)
        if by_id:
            query = select(anomalies_t.c.order_id, anomalies_t.c.code).where(
                _one_of(self._session, anomalies_t.c.order_id, list(by_id)),
                anomalies_t.c.status == "open",
                anomalies_t.c.blocking.is_(True),
            )
            for order_id, code in (await self._session.execute(query)).all():
                grouped[order_id].add(code)
        return grouped

    async def _deferred(self, held: list[int]) -> dict[int, DeferredStatus]:
        """The channel status each held order keeps for its release (``core.held_status``);
        no query when none of the loaded orders is held (the usual batch)."""
        if not held:
            return {}
        query = (select(events_t).where(_one_of(self._session, events_t.c.order_id, held),
                                        events_t.c.kind.in_(SETTLING_KINDS))
                 .order_by(events_t.c.order_id, events_t.c.seq))
        grouped: dict[int, list[OrderEvent]] = defaultdict(list)
        for row in (await self._session.execute(query)).all():
            grouped[row.order_id].append(to_event(row))
        found = {order_id: pending_deferral(events) for order_id, events in grouped.items()}
        return {order_id: status for order_id, status in found.items() if status is not None}

    async def get(self, key: str) -> StoredOrder | None:
        return (await self.load_many([key], lock=False)).get(key)

    def id_of(self, key: str) -> int:
        """Database id of an order loaded or saved through this repository."""
        return self._ids[key]

    async def save_batch(self, outcomes: Sequence[BatchOutcome], *, at: datetime
                         ) -> list[Anomaly]:
        """Write what ``core.batch.ingest_batch`` decided: rows, lines, events, anomalies.
        Returns the anomalies as stored, with their ids (cards about them name the id)."""
        created = [o for o in outcomes if o.created]
        changed = [o for o in outcomes if not o.created]
        await self._insert_orders(created, at)
        await self._update_orders(changed, at)
        await self._replace_lines(created, changed)
        rows = [event_values(self._ids[o.key], e) for o in outcomes for e in o.events]
        await bulk_insert(self._session, events_t, rows)
        return [replace(anomaly, id=await self.add_anomaly(anomaly))
                for anomaly in (a for o in outcomes for a in o.anomalies)]

    async def duplicate_candidates(self, orders: Iterable[Order]) -> list[Order]:
        """Stored orders sharing a duplicate-key bucket with any of ``orders`` (candidates
        only: ``core.fingerprint.is_suspected_duplicate`` makes the exact check).

        On PostgreSQL it first takes a transaction lock per (phone, goods) group: a concurrent
        batch storing a twin waits until this one commits, then sees its row (READ COMMITTED
        would otherwise hide it from both). Call it before the transaction writes anything,
        so no row lock is held while waiting. SQLite serialises writers anyway."""
        orders = list(orders)
        if is_postgres(self._session):
            await _lock_groups(self._session, orders)
        channels_by_key: dict[str, set[str]] = defaultdict(set)
        for order in orders:
            for key in duplicate_probe_keys(order):
                channels_by_key[key].add(order.channel)
        if not channels_by_key:
            return []
        slim = _lookup(self._session, orders_t.c.dup_key,
                       columns=(orders_t.c.id, orders_t.c.channel, orders_t.c.dup_key))
        found = await self._session.execute(slim, {"one_of": sorted(channels_by_key)})
        # Only an order on another channel can be a twin: skip the rest before loading them.
        wanted = [row.id for row in found.all()
                  if channels_by_key[row.dup_key] - {row.channel}]
        if not wanted:
            return []
        query = select(orders_t).where(_one_of(self._session, orders_t.c.id, wanted))
        rows = (await self._session.execute(query)).all()
        by_id = {row.id: row for row in rows}
        lines = await self._lines(by_id)
        return [to_order(row, lines.get(row.id, [])) for row in rows]

    async def _insert_orders(self, created: Sequence[BatchOutcome], at: datetime) -> None:
        if not created:
            return
        values = [order_values(o.order, version=1, head=_head(o), at=at) for o in created]
        ids = await allocate_ids(self._session, orders_t, len(values))
        if ids is not None:
            for outcome, row, new_id in zip(created, values, ids, strict=True):
                row["id"] = new_id
                self._ids[outcome.key], self._versions[outcome.key] = new_id, 1
            await bulk_insert(self._session, orders_t, values)
            return
        query = insert(orders_t).returning(
            orders_t.c.id, orders_t.c.channel, orders_t.c.channel_order_id
        )
        for inserted in (await self._session.execute(query, values)).all():
            key = f"{inserted.channel}:{inserted.channel_order_id}"
            self._ids[key], self._versions[key] = inserted.id, 1

    async def _update_orders(self, changed: Sequence[BatchOutcome], at: datetime) -> None:
        if not changed:
            return
        params = []
        for outcome in changed:
            self._versions[outcome.key] += 1
            values = order_values(outcome.order, version=self._versions[outcome.key],
                                  head=_head(outcome), at=at)
            params.append({"b_id": self._ids[outcome.key]}
                          | {f"b_{k}": values[k] for k in _UPDATE_COLUMNS})
        await self._session.execute(_UPDATE, params)

    async def _replace_lines(
        self, created: Sequence[BatchOutcome], changed: Sequence[BatchOutcome]
    ) -> None:
        relined = [o for o in changed if o.order.lines != self._loaded[o.key].lines]
        if relined:
            ids = [self._ids[o.key] for o in relined]
            await self._session.execute(
                delete(lines_t).where(_one_of(self._session, lines_t.c.order_id, ids)))
        rows = [row for o in (*created, *relined) for row in line_values(self._ids[o.key], o.order)]
        await bulk_insert(self._session, lines_t, rows)

    async def save_change(
        self, stored: StoredOrder, order: Order, events: Sequence[OrderEvent], *, at: datetime
    ) -> None:
        """Write one deliberate change with an optimistic version check.

        Raises ``ConcurrencyError`` when another writer changed the order since it was loaded:
        of two simultaneous confirmations, exactly one wins.
        """
        key = order.key
        expected = stored.version
        values = order_values(order, version=expected + 1, head=_head_of(events, stored), at=at)
        channel, channel_order_id = key.split(":", 1)
        result = await self._session.execute(
            update(orders_t)
            .where(orders_t.c.channel == channel, orders_t.c.channel_order_id == channel_order_id,
                   orders_t.c.version == expected)
            .values({k: values[k] for k in _UPDATE_COLUMNS})
            .returning(orders_t.c.id)
        )
        order_id = result.scalar_one_or_none()
        if order_id is None:
            raise ConcurrencyError(f"order {key} changed since it was loaded (version {expected})")
        self._ids[key], self._versions[key] = order_id, expected + 1
        self._loaded.setdefault(key, stored.order)
        if order.lines != stored.order.lines:
            await self._replace_lines((), [BatchOutcome(key, False, order, tuple(events))])
        rows = [event_values(self._ids[key], e) for e in events]
        if rows:
            await self._session.execute(insert(events_t), rows)

    async def events(self, key: str) -> list[OrderEvent]:
        """The order's full event history in sequence order (its "trace")."""
        channel, channel_order_id = key.split(":", 1)
        query = (
            select(events_t)
            .join(orders_t, orders_t.c.id == events_t.c.order_id)
            .where(orders_t.c.channel == channel, orders_t.c.channel_order_id == channel_order_id)
            .order_by(events_t.c.seq)
        )
        return [to_event(row) for row in (await self._session.execute(query)).all()]

    async def anomalies(self, key: str) -> list[Anomaly]:
        query = select(anomalies_t).where(anomalies_t.c.order_key == key).order_by(
            anomalies_t.c.id
        )
        return [to_anomaly(row) for row in (await self._session.execute(query)).all()]

    async def add_anomaly(self, anomaly: Anomaly) -> int:
        values = {
            "order_id": self._ids[anomaly.order_key], "order_key": anomaly.order_key,
            "code": anomaly.code.value, "klass": anomaly.klass.value,
            "blocking": anomaly.blocking, "status": anomaly.status.value,
            "reason": anomaly.reason, "data": dict(anomaly.data),
            "opened_at": anomaly.opened_at, "resolved_at": anomaly.resolved_at,
            "resolved_by": anomaly.resolved_by,
        }  # fmt: skip
        result = await self._session.execute(insert(anomalies_t).returning(anomalies_t.c.id),
                                             [values])
        return int(result.scalar_one())

    async def find(self, ref: str) -> list[str]:
        """Keys matching a reference typed by a person: ``channel:id``, a database id, or a
        channel order id (which may exist on several channels)."""
        ref = ref.strip()
        if ":" in ref:
            return [ref] if await self.get(ref) else []
        clauses = [orders_t.c.channel_order_id == ref]
        if ref.isdigit() and len(ref) < 19:
            clauses.append(orders_t.c.id == int(ref))
        query = select(orders_t.c.channel, orders_t.c.channel_order_id).where(or_(*clauses))
        rows = (await self._session.execute(query.order_by(orders_t.c.id))).all()
        return [f"{r.channel}:{r.channel_order_id}" for r in rows]


def _lookup(session: AsyncSession, column: Any, *, columns: Sequence[Any] = (),
            lock: bool = False) -> Any:
    """Rows of ``column``'s table (or just ``columns``) whose ``column`` is one of the values
    given at execution as the ``one_of`` parameter (a list).

    Built once per shape and reused: building this construct and its cache key anew costs
    ~0.4 ms, paid per lookup on every ingest batch; a reused one has its key memoised.

    On PostgreSQL one index probe per value, whatever the planner believes about the table:
    ``unnest($1) JOIN LATERAL (... WHERE column = value OFFSET 0)`` cannot be flattened into a
    hash join, so it stays a nested loop over the index. A plain ``column = ANY($1)`` is
    planned from statistics, and a table that grew since its last ANALYZE (a fresh database,
    a flood of new orders, autovacuum off or not yet around) is believed small: ~0.5% of the
    rows per value, a sequential scan, every batch rereading the whole table (ingest quadratic
    in the table size: 4-10 ms per lookup at 30,000 orders instead of 0.3-0.5 ms). Locked rows
    (``lock``) are locked in ``values`` order, so give them sorted."""
    return _lookup_query(is_postgres(session), column, tuple(columns), lock)


@functools.cache
def _lookup_query(postgres: bool, column: Any, columns: tuple[Any, ...], lock: bool) -> Any:
    table = column.table
    selected = list(columns) or [table]
    if not postgres:
        query = select(*selected).where(column.in_(bindparam("one_of", expanding=True)))
        return query.with_for_update() if lock else query
    keys = func.unnest(cast(bindparam("one_of", expanding=False),
                            ARRAY(column.type))).table_valued("value").render_derived()
    probe = select(*selected).where(column == keys.c.value).offset(0)  # OFFSET: no flattening
    if lock:
        probe = probe.with_for_update()
    found = probe.lateral()
    return select(found).select_from(keys.join(found, true()))


def _one_of(session: AsyncSession, column: Any, values: list[Any]) -> Any:
    """``column IN values``. On PostgreSQL one array parameter (``= ANY($1)``): a single
    prepared statement whatever the batch size, and a plan that stays an index lookup."""
    if is_postgres(session):
        return column == any_(cast(bindparam("one_of", values, expanding=False),
                                   ARRAY(column.type)))
    return column.in_(values)


def _head(outcome: BatchOutcome) -> tuple[int, str]:
    last = outcome.events[-1]
    return last.seq, last.hash


def _head_of(events: Sequence[OrderEvent], stored: StoredOrder) -> tuple[int, str]:
    head = events[-1].head if events else stored.head
    return head.seq, head.hash


async def _lock_groups(session: AsyncSession, orders: Sequence[Order]) -> None:
    """Advisory transaction locks on the orders' duplicate groups, in ascending order (every
    batch takes them in the same order, so two batches cannot deadlock on them)."""
    locks = sorted({lock for order in orders if (lock := duplicate_group_lock(order)) is not None})
    if locks:
        await session.execute(
            select(func.pg_advisory_xact_lock(func.unnest(cast(bindparam("locks"),
                                                               ARRAY(BigInteger))))),
            {"locks": locks})
