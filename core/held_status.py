"""A status reported for a held order (by its channel or its carrier): recorded on the order
while held, applied when released.

Why: a held order (open blocking anomaly: a C freeze, ORDER_STALLED, an A/B fix) may not advance
along the fulfilment path, but the channel does not wait for us: 拼多多 may report it shipped
while production has it frozen. Dead-lettering that report loses it until the channel happens
to push again. Instead (decided here, pure; handlers store and announce):

* A legal forward move on a held order is a ``channel_status_deferred`` event (channel status
  word, canonical target, the payload snapshot, the holds) and the order stays where it is.
  The content of the push (address, remark ...) is still applied, as for any held order, and
  the order keeps the channel's word in ``channel_status`` (what the channel said, not ours).
* An impossible move still raises ``IllegalTransitionError`` (dead letter, as before). Moves
  that leave the fulfilment path (cancel, refund, after-sale) are applied at once, as before:
  they are how a held order gets resolved (``core.states``).
* Idempotent: a push whose target equals the pending deferral, or lies behind it (a late
  redelivery of an older status), records nothing.
* On release only the *latest* deferral is applied (with carrier scans: the furthest along,
  see below), if it is still a legal move from the current state: an ops lead wants the order
  where the channel says it is now, not a replay of every report. The path to it is written
  step by step (``state_changed`` per state, as for any channel observation that skips
  states), so the state machine's intermediate steps are kept;
  the superseded reports stay in the trace as their own deferral events. A deferral that is now
  impossible or behind our state is closed with ``channel_status_dropped`` (with the reason), so
  the trace says what became of every report and nothing is reconsidered later.
* ORDER_STALLED asks "is this order still moving?". An observed move answers it: when the
  stall is the only thing in the way, the move is applied and the stall closes by itself
  (``clears``); with another hold (a C freeze) the move is deferred and the stall stays open,
  then closes when the deferral is applied at release. A carrier scan that moves no status
  (in_transit -> in_transit) answers it too when it is fresh (``core.tracking.
  scan_answers_stall``): the stalled scan counts an order's newest carrier scan as movement, so
  it would not reopen the stall. Resolving a stall with no movement at all would be pointless:
  the next run reopens it.

A carrier scan (``core.tracking``: 揽收, 在途, 派件, 签收) is the same kind of report, decided by
the same ``plan_move``: applied when nothing holds the order, answering a stall; otherwise kept
as a ``carrier_status_deferred`` event (target, from, holds, carrier, tracking number, provider,
scan) and applied on release with the carrier's step events (``via: carrier``), exactly like a
channel's deferral. What differs, and why:

* A scan of a held order means the goods left while the hold was meant to keep them: the hold
  failed. The handler writes a 【快递】 line on the order's open anomaly cards
  (``core.anomaly_cards.carrier_news``) for each carrier deferral, so the holder (and the
  supervisor's escalated copy) knows a person must act, not only that a status is waiting.
* Each source is judged against its own reports (``pending_deferral(..., via=...)``): a pick-up
  scan after the channel already said 已发货 is still recorded (the physical scan is firmer
  than the channel's word, and the card must say the parcel is gone); a second pick-up scan is
  not. Among the reports kept since the last settlement, the one furthest along the fulfilment
  path is what the release applies (the latest among equals); a settlement (applied, dropped)
  settles every report kept before it. The settling events keep their stored names
  (``channel_status_applied`` / ``_dropped``) and say which source they settled (``via``).
* Delivery (签收) while held is kept and applied on release like any scan, not at once: the
  hold still stands for a person to decide what the delivered goods need (a recall, an
  after-sale, nothing), and the order should not pass the anomaly by itself. The card line
  says the parcel was signed for, which is the alarm that matters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from core.errors import IllegalTransitionError, OrderHeldError
from core.events import ChainHead, OrderEvent, append_event
from core.order import Order
from core.states import OrderState, forward_path, reconcile

DEFERRED = "channel_status_deferred"
CARRIER_DEFERRED = "carrier_status_deferred"
DEFERRALS = (DEFERRED, CARRIER_DEFERRED)
APPLIED = "channel_status_applied"
DROPPED = "channel_status_dropped"
SETTLING_KINDS = (*DEFERRALS, APPLIED, DROPPED)  # the trace of these says what is pending
CHANNEL = "channel"
CARRIER = "carrier"
SCAN_FIELDS = ("carrier", "tracking_no", "provider", "scan")  # what a carrier deferral keeps
# Holds that an observed status move answers by itself.
CLEARED_BY_MOVE: frozenset[str] = frozenset({"ORDER_STALLED"})


@dataclass(frozen=True, slots=True)
class DeferredStatus:
    """A status kept for a held order (from its ``channel_status_deferred`` or
    ``carrier_status_deferred`` event)."""

    target: OrderState
    channel_status: str | None
    source: str  # who reported it (``webhook:pdd``, ``tracking:kuaidi100``): the steps' actor
    seq: int = 0  # the deferral event
    snapshot: str | None = None
    via: str = CHANNEL  # CHANNEL or CARRIER
    scan: Mapping[str, str] | None = None  # carrier, tracking_no, provider, scan (CARRIER)


@dataclass(frozen=True, slots=True)
class StatusMove:
    """What an observed status does: steps to take now, or deferred; holds it answers."""

    steps: tuple[OrderState, ...] = ()
    deferred: bool = False
    clears: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Settlement:
    """What releasing an order does with its pending deferral."""

    order: Order
    events: tuple[OrderEvent, ...] = ()
    clears: tuple[str, ...] = ()


def plan_move(current: OrderState, observed: OrderState, holds: Iterable[str],
              clearable: frozenset[str] = CLEARED_BY_MOVE) -> StatusMove:
    """Steps to bring ``current`` to ``observed``, or ``deferred`` when holds forbid them.

    Raises ``IllegalTransitionError`` when the move is impossible whatever the holds.
    """
    held = tuple(holds)
    kept = tuple(code for code in held if code not in clearable)
    try:
        steps = reconcile(current, observed, kept)
    except OrderHeldError:
        return StatusMove(deferred=True)
    cleared = tuple(code for code in held if code in clearable) if steps else ()
    return StatusMove(steps, clears=cleared)


def supersedes(pending: DeferredStatus | None, target: OrderState) -> bool:
    """Whether a report of ``target`` is news next to the pending deferral (not the same
    status again, not behind it)."""
    if pending is None:
        return True
    return target != pending.target and not forward_path(target, pending.target)


def deferral_event(head: ChainHead, order: Order, *, current: OrderState, holds: Iterable[str],
                   source: str, snapshot: str | None, at: datetime) -> OrderEvent:
    """``channel_status_deferred``: ``order`` is the arrived order (its status the target)."""
    data: dict[str, Any] = {"channel_status": order.channel_status,
                            "target": order.status.value, "from": current.value,
                            "holds": sorted(holds)}
    if snapshot:
        data["snapshot"] = snapshot
    return append_event(head, order.key, at=at, actor=source, kind=DEFERRED, data=data)


def carrier_deferral_event(head: ChainHead, key: str, *, target: OrderState,
                           current: OrderState, holds: Iterable[str], scan: Mapping[str, str],
                           at: datetime) -> OrderEvent:
    """``carrier_status_deferred``: the carrier's scan proves ``target`` while held."""
    data: dict[str, Any] = {"target": target.value, "from": current.value,
                            "holds": sorted(holds)} | {k: scan[k] for k in SCAN_FIELDS}
    return append_event(head, key, at=at, actor=f"tracking:{scan['provider']}",
                        kind=CARRIER_DEFERRED, data=data)


def from_event(event: OrderEvent) -> DeferredStatus:
    data = event.data
    if event.kind == CARRIER_DEFERRED:
        scan = {k: str(data[k]) for k in SCAN_FIELDS if k in data}
        return DeferredStatus(OrderState(str(data["target"])), None, event.actor, event.seq,
                              via=CARRIER, scan=scan)
    return DeferredStatus(OrderState(str(data["target"])), data.get("channel_status"),
                          event.actor, event.seq, data.get("snapshot"))


def pending_deferral(events: Iterable[OrderEvent], *, via: str | None = None
                     ) -> DeferredStatus | None:
    """The deferral still waiting: of the reports kept since the last settlement (``via``:
    only that source's), the one furthest along the path, the latest among equals."""
    pending: DeferredStatus | None = None
    for event in events:
        if event.kind not in SETTLING_KINDS:
            continue
        if event.kind not in DEFERRALS:
            pending = None  # applied or dropped: settles everything kept before it
            continue
        kept = from_event(event)
        if via is not None and kept.via != via:
            continue
        if pending is None or not forward_path(kept.target, pending.target):
            pending = kept
    return pending


def step_events(head: ChainHead, key: str, source: OrderState, steps: Iterable[OrderState],
                *, at: datetime, actor: str, data: Mapping[str, Any]) -> list[OrderEvent]:
    """One ``state_changed`` event per step, so the trace shows every state passed through."""
    events: list[OrderEvent] = []
    for step in steps:
        events.append(append_event(head, key, at=at, actor=actor, kind="state_changed",
                                   data={"from": source.value, "to": step.value} | dict(data)))
        head, source = events[-1].head, step
    return events


def channel_steps(head: ChainHead, order: Order, source: OrderState,
                  steps: Iterable[OrderState], *, at: datetime, actor: str,
                  extra: Mapping[str, Any] | None = None) -> list[OrderEvent]:
    """The steps a channel's report takes (``via: channel``, with the channel's word)."""
    data = {"via": CHANNEL, "channel_status": order.channel_status} | dict(extra or {})
    return step_events(head, order.key, source, steps, at=at, actor=actor, data=data)


def carrier_steps(head: ChainHead, key: str, source: OrderState, steps: Iterable[OrderState],
                  *, at: datetime, scan: Mapping[str, str],
                  extra: Mapping[str, Any] | None = None) -> list[OrderEvent]:
    """The steps a carrier's scan takes (``via: carrier``, which parcel, which provider)."""
    data = {"via": CARRIER, "carrier": scan["carrier"], "tracking_no": scan["tracking_no"],
            "provider": scan["provider"]} | dict(extra or {})
    return step_events(head, key, source, steps, at=at, actor=f"tracking:{scan['provider']}",
                       data=data)


def settle_deferred(order: Order, head: ChainHead, holds: Iterable[str],
                    deferred: DeferredStatus | None, *, at: datetime, by: str) -> Settlement:
    """After a hold ended (``by`` released it): apply the pending deferral if it is still a
    legal move from the current state and nothing else holds the order; drop it (with an
    event) when it became impossible or our state is at or past it; keep it while another
    blocking anomaly still holds the order."""
    if deferred is None:
        return Settlement(order)
    current = order.status
    why = {"deferred_seq": deferred.seq, "channel_status": deferred.channel_status,
           "target": deferred.target.value, "released_by": by, "via": deferred.via}
    try:
        move = plan_move(current, deferred.target, holds)
    except IllegalTransitionError:
        return _dropped(order, head, why | {"why": "illegal", "state": current.value}, at)
    if move.deferred:
        return Settlement(order)
    if not move.steps:
        return _dropped(order, head, why | {"why": "behind", "state": current.value}, at)
    applied = append_event(head, order.key, at=at, actor=by, kind=APPLIED,
                           data=why | {"from": current.value})
    moved = _with_status(order, move.steps[-1], deferred.channel_status)
    extra = {"deferred_seq": deferred.seq}
    if deferred.via == CARRIER and deferred.scan:
        steps = carrier_steps(applied.head, order.key, current, move.steps, at=at,
                              scan=deferred.scan, extra=extra)
    else:
        steps = channel_steps(applied.head, moved, current, move.steps, at=at,
                              actor=deferred.source, extra=extra)
    return Settlement(moved, (applied, *steps), move.clears)


def _dropped(order: Order, head: ChainHead, data: Mapping[str, Any], at: datetime
             ) -> Settlement:
    event = append_event(head, order.key, at=at, actor="system", kind=DROPPED, data=data)
    return Settlement(order, (event,))


def _with_status(order: Order, status: OrderState, channel_status: str | None) -> Order:
    return replace(order, status=status, channel_status=channel_status or order.channel_status)
