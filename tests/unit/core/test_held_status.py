"""A channel status for a held order (pure): deferred while held, the latest applied on
release, impossible moves still refused, stalls answered by a move."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.anomaly_cards import channel_news, news_of, with_channel_news
from core.batch import ingest_batch
from core.cards import CardKind, CardRecord
from core.chat import Card
from core.errors import IllegalTransitionError
from core.events import verify_chain
from core.held_status import (
    APPLIED,
    DEFERRED,
    DROPPED,
    pending_deferral,
    plan_move,
    settle_deferred,
)
from core.ingest import Arrival, IngestKind, IngestResult, StoredOrder, ingest
from core.order import Order
from core.states import OrderState
from tests.factories import T0, make_order

S = OrderState
AT = T0 + timedelta(hours=1)
FROZEN = ("CUSTOM_SPEC_CONFLICT",)
STALLED = ("ORDER_STALLED",)


def _created(order: Order) -> tuple[StoredOrder, list]:  # type: ignore[type-arg]
    first = ingest(Arrival(order, "webhook:pdd"), None, at=T0)
    return StoredOrder(order, first.events[-1].head), list(first.events)


def _push(stored: StoredOrder, status: OrderState, *, word: str = "已发货",
          snapshot: str | None = "sha-1", at=AT) -> IngestResult:  # type: ignore[no-untyped-def]
    arrived = replace(stored.order, status=status, channel_status=word)
    return ingest(Arrival(arrived, "webhook:pdd", snapshot), stored, at=at)


def _after(stored: StoredOrder, result: IngestResult, holds: tuple[str, ...]) -> StoredOrder:
    return StoredOrder(result.order, result.events[-1].head, holds, stored.version + 1,
                       result.deferred or stored.deferred)


def test_a_forward_status_on_a_frozen_order_is_deferred_not_refused() -> None:
    stored, _ = _created(make_order(1))
    held = replace(stored, holds=FROZEN)
    result = _push(held, S.LABEL_PRINTED)
    assert result.kind is IngestKind.UPDATED
    assert result.order.status is S.PAID  # stays where it is
    assert result.order.channel_status == "已发货"  # the channel's word is kept
    deferral = result.events[-1]
    assert [e.kind for e in result.events] == ["updated", DEFERRED]
    assert deferral.data == {"channel_status": "已发货", "target": "label_printed",
                             "from": "paid", "holds": ["CUSTOM_SPEC_CONFLICT"],
                             "snapshot": "sha-1"}
    assert result.deferred is not None and result.deferred.target is S.LABEL_PRINTED
    assert result.deferred.seq == deferral.seq and result.clears == ()


def test_the_same_status_again_or_an_older_one_records_nothing() -> None:
    stored, _ = _created(make_order(1))
    held = replace(stored, holds=FROZEN)
    first = _push(held, S.IN_TRANSIT, word="运输中")
    after = _after(held, first, FROZEN)
    again = _push(after, S.IN_TRANSIT, word="运输中", snapshot="sha-2")
    assert (again.kind, again.events) == (IngestKind.UNCHANGED, ())
    late = _push(after, S.LABEL_PRINTED, word="运输中")  # an older report delivered late
    assert (late.kind, late.events) == (IngestKind.UNCHANGED, ())
    further = _push(after, S.DELIVERED, word="运输中")
    assert [e.kind for e in further.events] == [DEFERRED]


def test_an_impossible_move_is_still_refused_and_an_exit_still_applies() -> None:
    stored, _ = _created(make_order(1, status=S.CANCELLED))
    with pytest.raises(IllegalTransitionError):
        _push(replace(stored, holds=FROZEN), S.IN_TRANSIT)
    paid, _ = _created(make_order(2))
    cancelled = _push(replace(paid, holds=FROZEN), S.CANCELLED, word="已取消")
    assert cancelled.order.status is S.CANCELLED and cancelled.deferred is None
    assert [e.kind for e in cancelled.events] == ["updated", "state_changed"]


def test_a_stall_alone_is_answered_by_the_move() -> None:
    stored, _ = _created(make_order(1))
    result = _push(replace(stored, holds=STALLED), S.LABEL_PRINTED)
    assert result.order.status is S.LABEL_PRINTED
    assert result.clears == STALLED
    assert [e.data["to"] for e in result.events if e.kind == "state_changed"] == [
        "awaiting_allocation", "allocated", "label_printed"]


def test_a_stall_with_a_freeze_defers_and_a_caller_that_cannot_resolve_defers_too() -> None:
    stored, _ = _created(make_order(1))
    both = _push(replace(stored, holds=(*FROZEN, *STALLED)), S.LABEL_PRINTED)
    assert both.order.status is S.PAID and both.clears == () and both.deferred is not None
    alone = ingest(Arrival(replace(stored.order, status=S.LABEL_PRINTED), "cli"),
                   replace(stored, holds=STALLED), at=AT, clearable=frozenset())
    assert alone.order.status is S.PAID and alone.deferred is not None


def test_plan_move_only_answers_a_stall_with_a_real_move() -> None:
    assert plan_move(S.ALLOCATED, S.PAID, STALLED).clears == ()  # behind: nothing moved
    assert plan_move(S.PAID, S.CANCELLED, STALLED).clears == STALLED
    assert plan_move(S.PAID, S.ALLOCATED, FROZEN).deferred


def _released(stored: StoredOrder, result: IngestResult, events: list,  # type: ignore[type-arg]
              holds: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    trace = [*events, *result.events]
    deferred = pending_deferral(trace)
    settled = settle_deferred(result.order, result.events[-1].head, holds, deferred,
                              at=AT + timedelta(hours=2), by="lisi")
    return settled, [*trace, *settled.events]


def test_release_applies_the_latest_deferral_step_by_step() -> None:
    stored, events = _created(make_order(1))
    held = replace(stored, holds=FROZEN)
    first = _push(held, S.LABEL_PRINTED)
    second = _push(_after(held, first, FROZEN), S.IN_TRANSIT, word="运输中")
    settled, trace = _released(held, second, [*events, *first.events])
    assert settled.order.status is S.IN_TRANSIT
    assert settled.order.channel_status == "运输中"
    applied, *steps = settled.events
    assert (applied.kind, applied.actor, applied.data["target"]) == (APPLIED, "lisi",
                                                                      "in_transit")
    assert applied.data["deferred_seq"] == second.events[-1].seq
    assert [(e.actor, e.data["from"], e.data["to"]) for e in steps] == [
        ("webhook:pdd", "paid", "awaiting_allocation"),
        ("webhook:pdd", "awaiting_allocation", "allocated"),
        ("webhook:pdd", "allocated", "label_printed"),
        ("webhook:pdd", "label_printed", "picked_up"),
        ("webhook:pdd", "picked_up", "in_transit")]
    assert verify_chain(trace).ok
    assert pending_deferral(trace) is None  # settled: a later release applies nothing


def test_release_drops_a_deferral_that_became_impossible_or_stale() -> None:
    stored, events = _created(make_order(1))
    held = replace(stored, holds=FROZEN)
    moving = _push(held, S.IN_TRANSIT, word="运输中")
    cancelled = _push(_after(held, moving, FROZEN), S.CANCELLED, word="已取消")
    settled, trace = _released(held, cancelled, [*events, *moving.events])
    assert settled.order.status is S.CANCELLED  # cancelled can never be in transit
    assert [(e.kind, e.data["why"]) for e in settled.events] == [(DROPPED, "illegal")]
    assert pending_deferral(trace) is None
    printed = _push(held, S.LABEL_PRINTED)
    # the state machine sees cancelled as past label_printed (a printed order may be cancelled)
    cancelled = _push(_after(held, printed, FROZEN), S.CANCELLED, word="已取消")
    settled, _ = _released(held, cancelled, [*events, *printed.events])
    assert [(e.kind, e.data["why"]) for e in settled.events] == [(DROPPED, "behind")]


def test_release_keeps_the_deferral_while_another_hold_remains() -> None:
    stored, events = _created(make_order(1))
    held = replace(stored, holds=FROZEN)
    shipped = _push(held, S.LABEL_PRINTED)
    settled, trace = _released(held, shipped, events, holds=("ADDRESS_MISSING",))
    assert settled.events == () and settled.order.status is S.PAID
    assert pending_deferral(trace) is not None
    answered, _ = _released(held, shipped, events, holds=STALLED)
    assert answered.order.status is S.LABEL_PRINTED and answered.clears == STALLED


def test_a_batch_sees_its_own_deferral_and_cleared_stall() -> None:
    stored, _ = _created(make_order(1))
    order = stored.order
    pushes = [Arrival(replace(order, status=S.LABEL_PRINTED, channel_status="已发货"), "s"),
              Arrival(replace(order, status=S.LABEL_PRINTED, channel_status="已发货"), "s")]
    frozen = ingest_batch(pushes, {order.key: replace(stored, holds=FROZEN)}, at=AT)
    (outcome,) = frozen.outcomes
    assert [e.kind for e in outcome.events] == ["updated", DEFERRED]
    assert [kind for _, kind in frozen.kinds] == [IngestKind.UPDATED, IngestKind.UNCHANGED]
    assert frozen.rejected == ()
    stalled = ingest_batch([*pushes, Arrival(replace(order, status=S.IN_TRANSIT), "s")],
                           {order.key: replace(stored, holds=STALLED)}, at=AT)
    (moved,) = stalled.outcomes
    assert moved.order.status is S.IN_TRANSIT and moved.clears == STALLED
    assert DEFERRED not in [e.kind for e in moved.events]


def test_channel_news_on_a_card_replaces_earlier_news_and_is_carried_on() -> None:
    record = CardRecord(Card(card_id="an-1", title="[C] 清关被拒", body="海关退回"),
                        CardKind.ANOMALY, "7", "pdd:1")
    shipped = channel_news(S.LABEL_PRINTED, "已发货", deferred=True, at=AT)
    first = with_channel_news(record, shipped)
    assert first.card.body.splitlines() == ["海关退回", shipped] and first.version == 2
    assert "渠道报告「已打单」（已发货）" in shipped and "解除后自动" in shipped
    later = channel_news(S.AFTER_SALE, None, deferred=False, at=AT)
    second = with_channel_news(first, later)
    assert second.card.body.splitlines() == ["海关退回", later]  # the latest counts
    assert news_of(second) == (later,) and news_of(record) == ()
    assert with_channel_news(record, later, bump=False).version == record.version
