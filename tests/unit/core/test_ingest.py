"""The ingest decision (pure): create, update, nothing, or reject."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.events import verify_chain
from core.ingest import IngestKind, StoredOrder, content_hash, ingest, ingest_batch
from core.states import OrderState
from tests.factories import T0, make_order

AT = T0 + timedelta(hours=1)


def stored_after(order, result):  # type: ignore[no-untyped-def]
    return StoredOrder(result.order, result.head, ())


def test_first_sight_creates_with_one_event() -> None:
    order = make_order(1)
    result = ingest(order, None, at=AT, source="webhook:taobao")
    assert result.kind is IngestKind.CREATED
    assert [(e.seq, e.kind, e.actor) for e in result.events] == [(1, "ingested",
                                                                   "webhook:taobao")]
    assert result.events[0].data["content_hash"] == content_hash(order)


def test_repeat_is_unchanged_and_emits_nothing() -> None:
    order = make_order(1)
    first = ingest(order, None, at=AT, source="s")
    again = ingest(order, stored_after(order, first), at=AT, source="s")
    assert (again.kind, again.events, again.head) == (IngestKind.UNCHANGED, (), None)


def test_channel_lagging_behind_keeps_our_state() -> None:
    order = make_order(1)
    ours = StoredOrder(replace(order, status=OrderState.ALLOCATED), ingest(
        order, None, at=AT, source="s").head)  # type: ignore[arg-type]
    result = ingest(replace(order, remark="请周末送"), ours, at=AT, source="s")
    assert result.order.status is OrderState.ALLOCATED
    assert [e.kind for e in result.events] == ["updated"]


def test_status_change_is_not_a_content_change() -> None:
    order = make_order(1)
    assert content_hash(order) == content_hash(replace(order, status=OrderState.CANCELLED))


def test_batch_folds_keys_and_rejects_only_the_bad_order() -> None:
    a, b = make_order(1), make_order(2, status=OrderState.CANCELLED)
    stored = {b.key: StoredOrder(b, ingest(b, None, at=AT, source="s").head)}  # type: ignore[arg-type]
    batch = [a, replace(a, status=OrderState.AWAITING_ALLOCATION),
             replace(b, status=OrderState.PAID), replace(b, status=OrderState.IN_TRANSIT)]
    result = ingest_batch(batch, stored, at=AT, source="s")
    assert result.kinds == (IngestKind.CREATED, IngestKind.UPDATED, IngestKind.UNCHANGED)
    assert [r.order.status for r in result.rejected] == [OrderState.IN_TRANSIT]
    (outcome,) = result.outcomes
    assert outcome.created and outcome.order.status is OrderState.AWAITING_ALLOCATION
    assert verify_chain(outcome.events).ok
