"""The canonical order states and the one transition table between them.

Channels and carriers report their own status words; ``core.states`` only knows the canonical
states. Two kinds of move exist:

* ``check_transition``: one deliberate step (a handler acting), which must be an edge of the
  table.
* ``reconcile``: an observation from outside (a channel push, a carrier scan) may skip states
  we never saw, so it follows the shortest path through the table; an observation that is
  *behind* our own progress (the channel still says "paid" while we have allocated) changes
  nothing.

An order held by open blocking anomalies may not advance along the fulfilment path; it may
still leave it (cancel, refund, after-sale), because those are how a held order is resolved.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from enum import StrEnum

from core.errors import IllegalTransitionError, OrderHeldError


class OrderState(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    DEPOSIT_PAID = "deposit_paid"
    PAID = "paid"
    AWAITING_ALLOCATION = "awaiting_allocation"
    ALLOCATED = "allocated"
    LABEL_PRINTED = "label_printed"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    AFTER_SALE = "after_sale"
    RETURNED = "returned"
    REFUNDED = "refunded"


S = OrderState

LABELS: Mapping[OrderState, str] = {
    S.PENDING_PAYMENT: "待付款",
    S.DEPOSIT_PAID: "已付定金",
    S.PAID: "已付款",
    S.AWAITING_ALLOCATION: "待分仓",
    S.ALLOCATED: "已分仓",
    S.LABEL_PRINTED: "已打单",
    S.PICKED_UP: "已揽收",
    S.IN_TRANSIT: "运输中",
    S.OUT_FOR_DELIVERY: "派件中",
    S.DELIVERED: "已签收",
    S.COMPLETED: "已完成",
    S.CANCELLED: "已取消",
    S.AFTER_SALE: "售后中",
    S.RETURNED: "已退货",
    S.REFUNDED: "已退款",
}

# Moves that take an order off the fulfilment path. A held order may still make them.
EXITS: frozenset[OrderState] = frozenset({S.CANCELLED, S.AFTER_SALE, S.RETURNED, S.REFUNDED})
TERMINAL: frozenset[OrderState] = frozenset({S.CANCELLED, S.REFUNDED})

TRANSITIONS: Mapping[OrderState, frozenset[OrderState]] = {
    S.PENDING_PAYMENT: frozenset({S.DEPOSIT_PAID, S.PAID, S.CANCELLED}),
    S.DEPOSIT_PAID: frozenset({S.PAID, S.CANCELLED, S.REFUNDED}),
    S.PAID: frozenset({S.AWAITING_ALLOCATION, S.CANCELLED, S.REFUNDED, S.AFTER_SALE}),
    S.AWAITING_ALLOCATION: frozenset({S.ALLOCATED, S.CANCELLED, S.REFUNDED, S.AFTER_SALE}),
    # allocated -> awaiting_allocation: the warehouse gave it back (re-route).
    S.ALLOCATED: frozenset(
        {S.LABEL_PRINTED, S.AWAITING_ALLOCATION, S.CANCELLED, S.REFUNDED, S.AFTER_SALE}
    ),
    # label_printed -> allocated: the waybill was voided before pick-up.
    S.LABEL_PRINTED: frozenset({S.PICKED_UP, S.ALLOCATED, S.CANCELLED, S.AFTER_SALE}),
    S.PICKED_UP: frozenset({S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED, S.AFTER_SALE}),
    S.IN_TRANSIT: frozenset({S.OUT_FOR_DELIVERY, S.DELIVERED, S.AFTER_SALE, S.RETURNED}),
    # out_for_delivery -> in_transit: delivery failed, parcel back at the station.
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.IN_TRANSIT, S.AFTER_SALE, S.RETURNED}),
    S.DELIVERED: frozenset({S.COMPLETED, S.AFTER_SALE}),
    S.COMPLETED: frozenset({S.AFTER_SALE}),
    # after_sale closes with a refund, a return, or nothing (back to completed).
    S.AFTER_SALE: frozenset({S.RETURNED, S.REFUNDED, S.COMPLETED}),
    S.RETURNED: frozenset({S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}

# Backward edges: legal as single deliberate steps, never taken when reconciling observations.
_CORRECTIONS: frozenset[tuple[OrderState, OrderState]] = frozenset(
    {
        (S.ALLOCATED, S.AWAITING_ALLOCATION),
        (S.LABEL_PRINTED, S.ALLOCATED),
        (S.OUT_FOR_DELIVERY, S.IN_TRANSIT),
        (S.AFTER_SALE, S.COMPLETED),
    }
)


def label(state: OrderState) -> str:
    """The Chinese word shown on cards for a state."""
    return LABELS[state]


def check_transition(
    source: OrderState, target: OrderState, holds: Iterable[str] = ()
) -> None:
    """Raise unless ``source -> target`` is one legal step for an order with ``holds``."""
    if target not in TRANSITIONS[source]:
        raise IllegalTransitionError(source.value, target.value)
    held = tuple(holds)
    if held and target not in EXITS:
        raise OrderHeldError(source.value, target.value, held)


def forward_path(source: OrderState, target: OrderState) -> tuple[OrderState, ...] | None:
    """Shortest chain of forward steps from ``source`` to ``target`` (excluding ``source``).

    ``()`` when they are equal, ``None`` when ``target`` cannot be reached going forward.
    """
    if source == target:
        return ()
    parents: dict[OrderState, OrderState] = {}
    queue: deque[OrderState] = deque([source])
    while queue:
        state = queue.popleft()
        for nxt in sorted(TRANSITIONS[state]):
            if (state, nxt) in _CORRECTIONS or nxt in parents or nxt == source:
                continue
            parents[nxt] = state
            if nxt == target:
                return _unwind(parents, source, target)
            queue.append(nxt)
    return None


def _unwind(
    parents: Mapping[OrderState, OrderState], source: OrderState, target: OrderState
) -> tuple[OrderState, ...]:
    path = [target]
    while path[-1] != source and parents[path[-1]] != source:
        path.append(parents[path[-1]])
    return tuple(reversed(path))


def reconcile(
    current: OrderState, observed: OrderState, holds: Iterable[str] = ()
) -> tuple[OrderState, ...]:
    """The steps that bring ``current`` in line with an outside observation.

    Returns ``()`` when the observation is our state or behind it (we are ahead). Raises
    ``IllegalTransitionError`` when neither can reach the other, ``OrderHeldError`` when the
    way forward would advance a held order.
    """
    path = forward_path(current, observed)
    if path is None:
        if forward_path(observed, current) is not None:
            return ()
        raise IllegalTransitionError(current.value, observed.value)
    held = tuple(holds)
    if held and path and any(step not in EXITS for step in path):
        raise OrderHeldError(current.value, observed.value, held)
    return path
