"""Use cases of unified tracking: register a parcel, apply what a provider reports (pushed or
polled), poll the parcels that are due.

Applying a report is one transaction: new scans stored once, the parcel's state, and the
order's ``state_changed`` events (pick-up, in transit, out for delivery, delivered) appended
in the same commit. Two reports racing for one order (a push and a poll) meet the order's
optimistic version check; the loser retries with fresh state.

A scan of a held order is decided like a channel's status for it (``core.held_status``), in
the same transaction: with a stall as the only hold the order moves and the stall closes
(``auto``, cards and timers), and a fresh scan that moves no status (in_transit ->
in_transit) closes it too, since the stalled scan counts the newest scan as movement; with
another hold the status is kept as a ``carrier_status_deferred`` event (applied on release,
like a channel's) and every open card of the order gets a 【快递】 line
(``handlers.channel_news.tell_carrier_scan``): the parcel left while the hold was meant to
keep it. Delivery (签收) while held is kept the same way: the hold
stays for a person, the card says the parcel was signed for.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core.anomalies import AnomalyCode, Resolution
from core.carriers import carrier
from core.errors import ConcurrencyError
from core.held_status import (
    CARRIER,
    carrier_deferral_event,
    carrier_steps,
    pending_deferral,
    supersedes,
)
from core.ingest import StoredOrder
from core.order import CHANNEL_SOURCE
from core.states import OrderState, label
from core.tracking import (
    FINAL,
    Parcel,
    TrackingState,
    TrackingUnavailableError,
    TrackReport,
    accepted_state,
    order_move,
    order_target,
    scan_answers_stall,
)
from handlers.anomaly_actions import resolve_anomaly
from handlers.channel_news import tell_carrier_scan
from handlers.tracking_ports import TrackingDeps, TrackingUnitOfWork

log = logging.getLogger("orderbot.tracking")
RETRIES = 3
MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Applied:
    parcel: Parcel
    new_lines: int
    order_moves: tuple[str, ...] = ()
    held: str | None = None  # why the order could not move, when it could not
    kept: bool = False  # a held order's status was kept for its release (event written)


async def register_parcel(deps: TrackingDeps, parcel: Parcel, *, now: datetime
                          ) -> tuple[Parcel, bool]:
    """Bind a tracking number to its order (WMS, e-waybill, platform, or a person), then
    subscribe to pushes when a callback URL is configured."""
    carrier(parcel.carrier)  # an unknown carrier is refused here, not at the first poll
    async with deps.new_uow() as uow:
        stored, created = await uow.parcels.register(parcel, at=now)
        await uow.commit()
    if created and deps.settings.callback_base:
        await _subscribe(deps, stored, now)
    return stored, created


async def _subscribe(deps: TrackingDeps, parcel: Parcel, now: datetime) -> None:
    phone = await _phone(deps, parcel)
    name = await deps.providers.subscribe(carrier(parcel.carrier), parcel.tracking_no, phone,
                                          deps.settings.callback_base)
    if name is None:
        return
    async with deps.new_uow() as uow:
        await uow.parcels.save(parcel, at=now, subscribed=name,
                               next_poll_at=now + timedelta(seconds=deps.settings.poll_interval_s))
        await uow.commit()


async def _phone(deps: TrackingDeps, parcel: Parcel) -> str | None:
    """The receiver phone (顺丰/中通 answer only with it, or its last 4)."""
    if parcel.order_key is None:
        return None
    async with deps.new_uow() as uow:
        stored = await uow.orders.get(parcel.order_key)
    return stored.order.receiver.phone if stored else None


async def refresh_parcel(deps: TrackingDeps, parcel: Parcel, *, now: datetime) -> Applied:
    """Ask the providers (in failover order) and apply the answer. Raises
    ``TrackingUnavailableError`` when none answers (the stored trace stays as it was)."""
    phone = await _phone(deps, parcel)
    report = await deps.providers.query(carrier(parcel.carrier), parcel.tracking_no, phone)
    return await apply_report(deps, report, now=now)


async def apply_report(deps: TrackingDeps, report: TrackReport, *, now: datetime
                       ) -> Applied:
    """Store a report for the parcel it names (pushed or polled). Unknown parcels raise
    ``LookupError`` (a push for a number we never registered is reported, not stored)."""
    for attempt in range(1, RETRIES + 1):
        try:
            return await _apply_once(deps, report, now)
        except ConcurrencyError:
            if attempt == RETRIES:
                raise
            log.info("order changed meanwhile, applying %s again", report.tracking_no)
    raise AssertionError("unreachable")


async def _apply_once(deps: TrackingDeps, report: TrackReport, now: datetime) -> Applied:
    async with deps.new_uow() as uow:
        found = await uow.parcels.find(report.tracking_no, report.carrier)
        if not found or found[0].id is None:
            raise LookupError(f"no parcel {report.carrier} {report.tracking_no}")
        parcel = await uow.parcels.get(found[0].id, lock=True) or found[0]
        new_lines = await uow.parcels.add_lines(parcel.id or 0, report.provider, report.lines,
                                                at=now)
        updated = _updated(parcel, report, now)
        next_poll = now + timedelta(seconds=_poll_interval(deps, updated))
        await uow.parcels.save(updated, at=now, next_poll_at=next_poll)
        advanced = await _advance_order(uow, updated, report, deps, now,
                                        previous_scan=parcel.last_trace_at)
        await uow.commit()
    if advanced.told:
        deps.chat.queued()
    if advanced.held:
        log.warning("order %s not advanced by %s %s: %s", updated.order_key, report.carrier,
                    report.tracking_no, advanced.held)
    return Applied(updated, new_lines, advanced.moves, advanced.held, advanced.kept)


def _updated(parcel: Parcel, report: TrackReport, now: datetime) -> Parcel:
    state = accepted_state(parcel, report)
    latest = report.latest
    last_trace = max(filter(None, (parcel.last_trace_at, latest.at if latest else None)),
                     default=None)
    delivered = parcel.delivered_at
    if state is TrackingState.DELIVERED and delivered is None:
        delivered = latest.at if latest else now
    return replace(parcel, state=state, provider_state=report.provider_state,
                   last_trace_at=last_trace, checked_at=now, checked_by=report.provider,
                   delivered_at=delivered, poll_failures=0,
                   estimated_delivery=report.estimated_delivery or parcel.estimated_delivery)


def _poll_interval(deps: TrackingDeps, parcel: Parcel) -> int:
    if parcel.state in FINAL:
        return 30 * 24 * 3600  # nothing left to poll; kept for the record
    return deps.settings.poll_interval_s


@dataclass(frozen=True, slots=True)
class _Advanced:
    moves: tuple[str, ...] = ()
    held: str | None = None
    kept: bool = False
    told: bool = False  # card updates queued (a closed stall, a 【快递】 line)


async def _advance_order(uow: TrackingUnitOfWork, parcel: Parcel, report: TrackReport,
                         deps: TrackingDeps, now: datetime, *,
                         previous_scan: datetime | None) -> _Advanced:
    """Move the order as far as all its parcels prove, with one event per step; a held
    order keeps the status for its release and its cards are told. A fresh scan that moves
    no status (in_transit -> in_transit) still answers a stall: the stalled scan counts it
    as movement (``core.tracking.scan_answers_stall``)."""
    if parcel.order_key is None:
        return _Advanced()
    stored = (await uow.orders.load_many([parcel.order_key])).get(parcel.order_key)
    if stored is None:
        return _Advanced()
    states = [parcel.state if p.id == parcel.id else p.state
              for p in await uow.parcels.for_order(parcel.order_key)]
    target = order_target(states)
    move, why = order_move(stored.order.status, target, stored.holds)
    scan = {"carrier": parcel.carrier, "tracking_no": parcel.tracking_no,
            "provider": report.provider, "scan": parcel.state.value}
    if move.deferred and target is not None:
        kept, told = await _keep(uow, stored, target, scan, report, now)
        return _Advanced(held=why, kept=kept, told=told)
    if not move.steps:
        stall = AnomalyCode.ORDER_STALLED.value
        if why is None and stall in stored.holds and scan_answers_stall(
                previous_scan, parcel.last_trace_at, now=now,
                stalled_after=timedelta(seconds=deps.chat.anomalies.routing.stalled_after_s)):
            told = await _close(uow, parcel.order_key, (stall,), deps, now,
                                done="自动关闭（快递有新扫描，包裹仍在流转）")
            return _Advanced(told=told)
        return _Advanced(held=why)
    events = carrier_steps(stored.head, parcel.order_key, stored.order.status, move.steps,
                           at=now, scan=scan)
    await uow.orders.save_change(stored, replace(stored.order, status=move.steps[-1]), events,
                                 at=now)
    told = await _close(uow, parcel.order_key, move.clears, deps, now,  # a stall: it moves
                        done=f"自动关闭（快递扫描订单「{label(move.steps[-1])}」）")
    return _Advanced(tuple(s.value for s in move.steps), told=told)


async def _close(uow: TrackingUnitOfWork, key: str, codes: Sequence[str], deps: TrackingDeps,
                 now: datetime, *, done: str) -> bool:
    """Resolve the order's open anomalies with ``codes`` by itself (``auto``); whether card
    updates were queued."""
    if not codes:
        return False
    told = False
    for anomaly in [a for a in await uow.anomalies.for_order(key) if a.code.value in codes]:
        told |= await resolve_anomaly(uow, anomaly.id or 0, actor="system",
                                      how=Resolution.AUTO, deps=deps.chat, now=now, done=done)
    return told


async def _keep(uow: TrackingUnitOfWork, stored: StoredOrder, target: OrderState,
                scan: dict[str, str], report: TrackReport, now: datetime) -> tuple[bool, bool]:
    """Record the scan for the release unless the carrier already reported it (or a later
    status) while held, and tell the order's cards. (kept, told)"""
    key = stored.order.key
    if not supersedes(pending_deferral(await uow.orders.events(key), via=CARRIER), target):
        return False, False
    event = carrier_deferral_event(stored.head, key, target=target, current=stored.order.status,
                                   holds=stored.holds, scan=scan, at=now)
    await uow.orders.save_change(stored, stored.order, [event], at=now)
    latest = report.latest
    told = await tell_carrier_scan(uow, key, target, carrier_name=carrier(scan["carrier"]).name,
                                   tracking_no=scan["tracking_no"],
                                   scanned_at=latest.at if latest else now, now=now)
    return True, told


async def poll_due(deps: TrackingDeps, *, now: datetime, limit: int = 50) -> int:
    """Refresh the open parcels that are due; a failure backs off (5 min, doubling, 6 h max)
    and keeps the stored trace. Returns how many were refreshed.

    A parcel a channel reported (registered inside the ingest transaction, where nothing may
    go over the network) is subscribed to pushes here, on its first round (never checked)."""
    async with deps.new_uow() as uow:
        due = await uow.parcels.due(now, limit)
    done = 0
    for parcel in due:
        if (deps.settings.callback_base and parcel.source == CHANNEL_SOURCE
                and parcel.checked_at is None):
            await _subscribe(deps, parcel, now)
        try:
            await refresh_parcel(deps, parcel, now=now)
            done += 1
        except TrackingUnavailableError as error:
            await _back_off(deps, parcel, str(error), now)
        except LookupError as error:
            log.warning("poll %s: %s", parcel.tracking_no, error)
    return done


async def _back_off(deps: TrackingDeps, parcel: Parcel, why: str, now: datetime) -> None:
    failures = parcel.poll_failures + 1
    delay = min(timedelta(minutes=5) * 2 ** (failures - 1), MAX_BACKOFF)
    log.warning("tracking %s %s unavailable (%d in a row), next try in %s: %s",
                parcel.carrier, parcel.tracking_no, failures, delay, why)
    async with deps.new_uow() as uow:
        await uow.parcels.save(replace(parcel, poll_failures=failures), at=now,
                               next_poll_at=now + delay)
        await uow.commit()


async def apply_push(deps: TrackingDeps, reports: Sequence[TrackReport], *, now: datetime
                     ) -> list[Applied]:
    """Apply every report a provider pushed (快递鸟 batches several parcels)."""
    return [await apply_report(deps, report, now=now) for report in reports]
