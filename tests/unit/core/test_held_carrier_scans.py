"""A carrier scan of a held order (pure): decided by the same ``plan_move`` as a channel's
status, kept as ``carrier_status_deferred``, each source judged against its own reports, the
furthest report applied on release with the carrier's step events, and the 【快递】 card line."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.anomaly_cards import (
    carrier_news,
    channel_news,
    news_of,
    with_channel_news,
)
from core.cards import CardKind, CardRecord
from core.chat import Card
from core.events import OrderEvent, verify_chain
from core.held_status import (
    APPLIED,
    CARRIER,
    CARRIER_DEFERRED,
    CHANNEL,
    carrier_deferral_event,
    pending_deferral,
    settle_deferred,
    supersedes,
)
from core.ingest import Arrival, StoredOrder, ingest
from core.states import OrderState
from core.tracking import order_move, scan_answers_stall
from tests.factories import T0, make_order

S = OrderState
AT = T0 + timedelta(hours=1)
FROZEN = ("CUSTOMS_REJECTED",)
STALLED = ("ORDER_STALLED",)
SCAN = {"carrier": "zto", "tracking_no": "ZT100", "provider": "kuaidi100", "scan": "picked_up"}


def _frozen(n: int = 1) -> tuple[StoredOrder, list[OrderEvent]]:
    order = make_order(n, status=S.LABEL_PRINTED)
    first = ingest(Arrival(order, "webhook:pdd"), None, at=T0)
    return StoredOrder(order, first.events[-1].head, FROZEN), list(first.events)


def _scan(stored: StoredOrder, trace: list[OrderEvent], target: OrderState,
          scan: str = "picked_up") -> list[OrderEvent]:
    """What the handler writes for a scan of ``target``, if it is news for the carrier."""
    move, why = order_move(stored.order.status, target, stored.holds)
    assert move.deferred and not move.steps and why and "held" in why
    if not supersedes(pending_deferral(trace, via=CARRIER), target):
        return trace
    head = trace[-1].head
    event = carrier_deferral_event(head, stored.order.key, target=target,
                                   current=stored.order.status, holds=stored.holds,
                                   scan=SCAN | {"scan": scan}, at=AT)
    return [*trace, event]


def test_a_pick_up_scan_of_a_frozen_order_is_kept_once() -> None:
    stored, trace = _frozen()
    trace = _scan(stored, trace, S.PICKED_UP)
    kept = trace[-1]
    assert (kept.kind, kept.actor) == (CARRIER_DEFERRED, "tracking:kuaidi100")
    assert kept.data == {"target": "picked_up", "from": "label_printed",
                         "holds": ["CUSTOMS_REJECTED"], "carrier": "zto", "tracking_no": "ZT100",
                         "provider": "kuaidi100", "scan": "picked_up"}
    pending = pending_deferral(trace)
    assert pending is not None and (pending.via, pending.target) == (CARRIER, S.PICKED_UP)
    assert _scan(stored, trace, S.PICKED_UP) == trace  # the same scan again: nothing new
    further = _scan(stored, trace, S.DELIVERED, "delivered")
    assert len(further) == len(trace) + 1 and further[-1].data["target"] == "delivered"


def test_a_scan_after_the_channel_said_shipped_is_still_recorded_and_the_furthest_wins() -> None:
    stored, trace = _frozen()
    shipped = replace(stored.order, status=S.IN_TRANSIT, channel_status="运输中")
    channel = ingest(Arrival(shipped, "webhook:pdd"), stored, at=AT)
    trace = [*trace, *channel.events]
    assert pending_deferral(trace) is not None
    trace = _scan(stored, trace, S.PICKED_UP)  # behind the channel's report, carrier's first
    assert trace[-1].kind == CARRIER_DEFERRED
    overall, carrier = pending_deferral(trace), pending_deferral(trace, via=CARRIER)
    assert overall is not None and (overall.via, overall.target) == (CHANNEL, S.IN_TRANSIT)
    assert carrier is not None and carrier.target is S.PICKED_UP


def test_release_applies_the_carrier_status_with_carrier_steps() -> None:
    stored, trace = _frozen()
    trace = _scan(stored, trace, S.IN_TRANSIT, "in_transit")
    deferred = pending_deferral(trace)
    settled = settle_deferred(stored.order, trace[-1].head, (), deferred,
                              at=AT + timedelta(hours=1), by="lisi")
    assert settled.order.status is S.IN_TRANSIT
    assert settled.order.channel_status == stored.order.channel_status  # the channel's word
    applied, *steps = settled.events
    assert (applied.kind, applied.actor, applied.data["via"]) == (APPLIED, "lisi", CARRIER)
    assert [(e.actor, e.data["to"], e.data["via"], e.data["tracking_no"]) for e in steps] == [
        ("tracking:kuaidi100", "picked_up", "carrier", "ZT100"),
        ("tracking:kuaidi100", "in_transit", "carrier", "ZT100")]
    assert all(e.data["deferred_seq"] == trace[-1].seq for e in steps)
    full = [*trace, *settled.events]
    assert verify_chain(full).ok and pending_deferral(full) is None  # settled


def test_delivery_while_frozen_waits_for_the_release_too() -> None:
    stored, trace = _frozen()
    trace = _scan(stored, trace, S.DELIVERED, "delivered")
    still = settle_deferred(stored.order, trace[-1].head, FROZEN, pending_deferral(trace),
                            at=AT, by="system")
    assert still.events == () and still.order.status is S.LABEL_PRINTED  # another hold
    released = settle_deferred(stored.order, trace[-1].head, (), pending_deferral(trace),
                               at=AT, by="lisi")
    assert [e.data["to"] for e in released.events[1:]] == ["picked_up", "delivered"]


def test_a_scan_answers_a_stall_alone_but_not_a_stall_under_a_freeze() -> None:
    alone, _ = order_move(S.LABEL_PRINTED, S.PICKED_UP, STALLED)
    assert alone.steps == (S.PICKED_UP,) and alone.clears == STALLED
    both, _ = order_move(S.LABEL_PRINTED, S.PICKED_UP, (*FROZEN, *STALLED))
    assert both.deferred and both.clears == ()


def test_a_fresh_scan_without_a_move_answers_a_stall_an_old_or_repeated_one_does_not() -> None:
    hours, now = timedelta(hours=1), T0 + timedelta(hours=100)
    window = timedelta(hours=48)
    newer = now - 2 * hours
    assert scan_answers_stall(now - 60 * hours, newer, now=now, stalled_after=window)
    assert scan_answers_stall(None, newer, now=now, stalled_after=window)
    assert scan_answers_stall(None, now - window, now=now, stalled_after=window)  # its edge
    assert not scan_answers_stall(newer, newer, now=now, stalled_after=window)  # same scan
    assert not scan_answers_stall(newer, now - 3 * hours, now=now, stalled_after=window)
    assert not scan_answers_stall(now - 60 * hours, now - 50 * hours, now=now,
                                  stalled_after=window)  # a late push of an old scan
    assert not scan_answers_stall(now - 60 * hours, None, now=now, stalled_after=window)

def test_the_carrier_line_sits_beside_the_channel_line_and_is_carried_on() -> None:
    record = CardRecord(Card(card_id="an-1", title="[C] 清关被拒", body="海关退回"),
                        CardKind.ANOMALY, "7", "pdd:1")
    picked = carrier_news(S.PICKED_UP, carrier_name="中通快递", tracking_no="ZT100",
                          frozen=True, at=AT)
    assert picked.startswith("【快递】") and "中通快递 ZT100 扫描「已揽收」" in picked
    assert "订单冻结中包裹已被快递揽走" in picked and "未能拦截" in picked
    signed = carrier_news(S.DELIVERED, carrier_name="中通快递", tracking_no="ZT100",
                          frozen=False, at=AT)
    assert "订单暂停流转中包裹已签收" in signed
    shipped = channel_news(S.LABEL_PRINTED, "已发货", deferred=True, at=AT)
    card = with_channel_news(with_channel_news(with_channel_news(record, shipped), picked),
                             signed)
    assert card.card.body.splitlines() == ["海关退回", shipped, signed]  # latest of each
    assert news_of(card) == (shipped, signed) and card.version == 4
