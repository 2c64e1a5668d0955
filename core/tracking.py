"""Unified tracking: canonical parcel states, trace lines, and what a carrier scan means for
the order.

Every provider (快递100, 快递鸟) maps its own state codes onto ``TrackingState`` in one table
per provider (``integrations/logistics/<provider>.py``); an unknown code is an error, never a
guess. A parcel's scans move its order along the fulfilment path through
``core.states.reconcile`` (an observation may skip states, never go back): 揽收 -> picked_up,
在途 -> in_transit, 派件 -> out_for_delivery, 签收 -> delivered. Exceptions and returns move
nothing on their own; a person looks at them. A scan of a held order is decided like a
channel's status for it (``core.held_status``): kept for the release, a stall answered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from core.clock import require_aware, to_iso
from core.errors import IllegalTransitionError, TemporaryFailureError
from core.held_status import CLEARED_BY_MOVE, StatusMove, plan_move
from core.states import OrderState

SILENCE = timedelta(hours=36)  # no new scan for this long on an open parcel: verify it


class TrackingState(StrEnum):
    PENDING = "pending"  # registered, no carrier scan yet
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"  # 疑难 / 问题件 / 拒签 / 清关异常: a person must look
    RETURNING = "returning"  # on its way back to the sender
    RETURNED = "returned"  # back at the sender (退签)


T = TrackingState
LABELS: Mapping[TrackingState, str] = {
    T.PENDING: "待揽收", T.PICKED_UP: "已揽收", T.IN_TRANSIT: "运输中",
    T.OUT_FOR_DELIVERY: "派送中", T.DELIVERED: "已签收", T.EXCEPTION: "异常",
    T.RETURNING: "退回中", T.RETURNED: "已退回",
}  # fmt: skip
FINAL: frozenset[TrackingState] = frozenset({T.DELIVERED, T.RETURNED})

# The order state a scan proves; the fulfilment rank orders them (several parcels: the slowest
# one decides how far the order has come).
ORDER_STATE: Mapping[TrackingState, OrderState] = {
    T.PICKED_UP: OrderState.PICKED_UP, T.IN_TRANSIT: OrderState.IN_TRANSIT,
    T.OUT_FOR_DELIVERY: OrderState.OUT_FOR_DELIVERY, T.DELIVERED: OrderState.DELIVERED,
}  # fmt: skip
_RANK: Mapping[TrackingState, int] = {T.PENDING: 0, T.PICKED_UP: 1, T.IN_TRANSIT: 2,
                                      T.OUT_FOR_DELIVERY: 3, T.DELIVERED: 4}


class TrackingUnavailableError(TemporaryFailureError):
    """No provider could answer (down, 5xx, timeout, or refusing); ``failures`` says why."""

    def __init__(self, failures: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {why}" for name, why in failures.items())
                         or "no tracking provider configured")
        self.failures = dict(failures)


def label(state: TrackingState) -> str:
    return LABELS[state]


@dataclass(frozen=True, slots=True)
class TraceLine:
    """One scan as the carrier wrote it: when, what, where (when given)."""

    at: datetime
    text: str
    area: str | None = None
    state: TrackingState | None = None

    def __post_init__(self) -> None:
        require_aware(self.at, "trace.at")

    @property
    def digest(self) -> str:
        """Identity of a scan across providers and repeated pushes: time + text."""
        key = f"{to_iso(self.at)}|{' '.join(self.text.split())}"
        return hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class TrackReport:
    """What one provider says about one parcel right now."""

    provider: str
    carrier: str  # our carrier code
    tracking_no: str
    state: TrackingState
    provider_state: str  # the provider's own code, kept for the record
    lines: tuple[TraceLine, ...]  # oldest first
    estimated_delivery: date | None = None  # when the provider gives one

    @property
    def latest(self) -> TraceLine | None:
        return self.lines[-1] if self.lines else None


@dataclass(frozen=True, slots=True)
class Parcel:
    """A tracking number bound to an order (who created it: wms, ewaybill, platform, manual)."""

    carrier: str
    tracking_no: str
    order_key: str | None
    channel: str | None
    source: str
    registered_at: datetime
    state: TrackingState = TrackingState.PENDING
    provider_state: str | None = None
    last_trace_at: datetime | None = None
    checked_at: datetime | None = None
    checked_by: str | None = None
    silence_flagged_at: datetime | None = None
    delivered_at: datetime | None = None
    poll_failures: int = 0
    estimated_delivery: date | None = None  # the provider's estimate, when it gives one
    id: int | None = None

    @property
    def last_activity(self) -> datetime:
        return self.last_trace_at or self.registered_at


def sort_lines(lines: Iterable[TraceLine]) -> tuple[TraceLine, ...]:
    """Oldest first, each scan once (providers sort either way and repeat lines)."""
    unique = {line.digest: line for line in lines}
    return tuple(sorted(unique.values(), key=lambda line: line.at))


def accepted_state(parcel: Parcel, report: TrackReport) -> TrackingState:
    """The parcel's state after ``report``. A report whose newest scan is older than what we
    already hold (a lagging provider after failover) changes nothing; a final state stays
    unless the report is final too."""
    latest = report.latest
    if parcel.last_trace_at and (latest is None or latest.at < parcel.last_trace_at):
        return parcel.state
    if parcel.state in FINAL and report.state not in FINAL:
        return parcel.state
    return report.state


def order_target(states: Iterable[TrackingState]) -> OrderState | None:
    """How far the order's parcels prove it has come: the least advanced parcel decides.
    Parcels in exception or on their way back do not count; None when nothing is proven."""
    ranked = [s for s in states if s in _RANK]
    if not ranked:
        return None
    slowest = min(ranked, key=lambda s: _RANK[s])
    return ORDER_STATE.get(slowest)


def order_move(current: OrderState, target: OrderState | None, holds: Iterable[str] = (),
               clearable: frozenset[str] = CLEARED_BY_MOVE) -> tuple[StatusMove, str | None]:
    """What the scans do to the order (``core.held_status.plan_move``): the steps to
    ``target``, or deferred while held, and the holds a move answers (a stall); with why it
    does not move when it cannot. An order ahead of the scans stays where it is; one off the
    fulfilment path (cancelled, refunded) too, with the reason."""
    if target is None:
        return StatusMove(), None
    try:
        move = plan_move(current, target, holds, clearable)
    except IllegalTransitionError as error:
        return StatusMove(), str(error)
    if move.deferred:
        return move, f"held by {', '.join(sorted(holds))}: {current.value} -> {target.value} kept"
    return move, None


def scan_answers_stall(previous_scan: datetime | None, newest_scan: datetime | None, *,
                       now: datetime, stalled_after: timedelta) -> bool:
    """Whether a report shows the parcel moving, which answers an ORDER_STALLED even when the
    order's status stays where it is (in_transit -> in_transit): its newest scan is newer than
    the one stored before, and recent enough that the stalled scan, which counts the newest
    carrier scan as movement, would not flag the order again (within ``stalled_after``). A
    late push of an old scan answers nothing."""
    if newest_scan is None or (previous_scan is not None and newest_scan <= previous_scan):
        return False
    return newest_scan >= now - stalled_after


def is_overdue(parcel: Parcel, now: datetime) -> bool:
    """An open parcel with no new scan for ``SILENCE`` (the customer is told so, honestly)."""
    return parcel.state not in FINAL and parcel.last_activity + SILENCE <= now


def is_silent(parcel: Parcel, now: datetime) -> bool:
    """Overdue and not yet flagged since its last scan: one verification per silence, a new
    scan starts the clock again."""
    if not is_overdue(parcel, now):
        return False
    flagged = parcel.silence_flagged_at
    return flagged is None or flagged < parcel.last_activity
