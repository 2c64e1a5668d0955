"""A batch of arrivals, decided at once: what ingestion workers call for every inbox batch.

Folds repeated keys, rejects only the orders the domain refuses, and looks for cross-channel
suspected duplicates among the new orders (against stored candidates and each other). A
suspected duplicate opens ``SUSPECTED_DUPLICATE`` on the order that arrived *second*: the first
may already be in fulfilment, and holding the second is what stops a double shipment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from core.anomalies import Anomaly, AnomalyCode, open_anomaly
from core.errors import DomainError
from core.events import OrderEvent, append_event
from core.fingerprint import is_suspected_duplicate, normalise_phone, sku_multiset
from core.held_status import CLEARED_BY_MOVE
from core.ingest import Arrival, IngestKind, IngestResult, StoredOrder, ingest
from core.order import Order


@dataclass(frozen=True, slots=True)
class Rejected:
    """An arrival that could not be applied (impossible status move). A forward move of a
    held order is not refused: it is recorded as deferred (``core.held_status``)."""

    arrival: Arrival
    reason: str


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """Per order key, what a batch did: the final order, its new anomalies, every event,
    and the holds an applied channel move answered (to resolve: ORDER_STALLED)."""

    key: str
    created: bool
    order: Order
    events: tuple[OrderEvent, ...]
    anomalies: tuple[Anomaly, ...] = ()
    clears: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BatchResult:
    outcomes: tuple[BatchOutcome, ...]
    kinds: tuple[tuple[Arrival, IngestKind], ...]  # accepted arrivals, in arrival order
    rejected: tuple[Rejected, ...]


def ingest_batch(
    arrivals: Sequence[Arrival],
    stored: dict[str, StoredOrder],
    *,
    at: datetime,
    candidates: Iterable[Order] = (),
    clearable: frozenset[str] = CLEARED_BY_MOVE,
) -> BatchResult:
    """``ingest`` every arrival in order, then flag suspected duplicates among new orders.

    ``candidates`` are stored orders whose duplicate key matches a probe key of an arrival
    (the repository finds them by index); exact matching happens here. ``clearable``: see
    ``core.ingest.ingest``.
    """
    current = dict(stored)
    outcomes: dict[str, BatchOutcome] = {}
    kinds: list[tuple[Arrival, IngestKind]] = []
    rejected: list[Rejected] = []
    for arrival in arrivals:
        key = arrival.order.key
        try:
            result = ingest(arrival, current.get(key), at=at, clearable=clearable)
        except DomainError as error:
            rejected.append(Rejected(arrival, str(error)))
            continue
        kinds.append((arrival, result.kind))
        if result.kind is IngestKind.UNCHANGED:
            continue
        before = outcomes.get(key)
        created = before.created if before else result.kind is IngestKind.CREATED
        events = (before.events if before else ()) + result.events
        clears = (before.clears if before else ()) + result.clears
        outcomes[key] = BatchOutcome(key, created, result.order, events, clears=clears)
        current[key] = _after(current.get(key), result, events[-1])
    flagged = _flag_duplicates(list(outcomes.values()), list(candidates), at)
    return BatchResult(tuple(flagged), tuple(kinds), tuple(rejected))


def _after(previous: StoredOrder | None, result: IngestResult, last: OrderEvent
           ) -> StoredOrder:
    """The stored order as the next arrival of the same key in this batch sees it."""
    if previous is None:
        return StoredOrder(result.order, last.head)
    holds = tuple(code for code in previous.holds if code not in result.clears)
    return StoredOrder(result.order, last.head, holds, previous.version,
                       result.deferred or previous.deferred)


def _flag_duplicates(
    outcomes: list[BatchOutcome], candidates: list[Order], at: datetime
) -> list[BatchOutcome]:
    """Orders are grouped by (phone, goods) and channel, and each is compared only with the
    same group on *other* channels: one buyer's hundred identical orders on one channel (B2B
    replenishment) cost nothing, instead of every order against every other."""
    in_batch = {o.key for o in outcomes}
    seen: dict[tuple[str | None, str], dict[str, list[Order]]] = defaultdict(
        lambda: defaultdict(list))
    for candidate in candidates:
        if candidate.key not in in_batch:
            seen[_group(candidate)][candidate.channel].append(candidate)
    result: list[BatchOutcome] = []
    for outcome in outcomes:
        if outcome.created:
            group = seen[_group(outcome.order)]
            twin = _twin(outcome.order, group)
            if twin is not None:
                outcome = _open_duplicate(outcome, twin, at)
            group[outcome.order.channel].append(outcome.order)
        result.append(outcome)
    return result


def _twin(order: Order, group: dict[str, list[Order]]) -> Order | None:
    for channel, orders in group.items():
        if channel != order.channel:
            for other in orders:
                if is_suspected_duplicate(order, other):
                    return other
    return None


def _group(order: Order) -> tuple[str | None, str]:
    return normalise_phone(order.receiver.phone), sku_multiset(order)


def _open_duplicate(outcome: BatchOutcome, twin: Order, at: datetime) -> BatchOutcome:
    reason = (f"同一买家在 {twin.channel} 的订单 {twin.channel_order_id} 与本单商品相同，"
              f"下单时间相差 {abs(outcome.order.created_at - twin.created_at).seconds} 秒")
    anomaly = open_anomaly(outcome.key, AnomalyCode.SUSPECTED_DUPLICATE, at=at, reason=reason,
                           data={"other": twin.key})
    event = append_event(outcome.events[-1].head, outcome.key, at=at, actor="system",
                         kind="anomaly_opened",
                         data={"code": anomaly.code.value, "other": twin.key, "blocking": True})
    return replace(outcome, events=(*outcome.events, event),
                   anomalies=(*outcome.anomalies, anomaly))
