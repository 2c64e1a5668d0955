"""The ingest decision (pure): create, update, nothing, or reject."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.batch import ingest_batch
from core.events import verify_chain
from core.ingest import Arrival, IngestKind, StoredOrder, content_hash
from core.ingest import ingest as ingest_one
from core.states import OrderState
from tests.factories import T0, make_order

AT = T0 + timedelta(hours=1)


def ingest(order, stored, *, at, source):  # type: ignore[no-untyped-def]
    return ingest_one(Arrival(order, source), stored, at=at)


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
    result = ingest_batch([Arrival(o, "s") for o in batch], stored, at=AT)
    assert [k for _, k in result.kinds] == [IngestKind.CREATED, IngestKind.UPDATED,
                                           IngestKind.UNCHANGED]
    assert [r.arrival.order.status for r in result.rejected] == [OrderState.IN_TRANSIT]
    (outcome,) = result.outcomes
    assert outcome.created and outcome.order.status is OrderState.AWAITING_ALLOCATION
    assert verify_chain(outcome.events).ok


def test_cross_channel_twin_in_one_batch_flags_the_second() -> None:
    first = make_order(1, channel="taobao")
    second = make_order(1, channel="douyin", channel_order_id="DY-1",
                        created_at=first.created_at + timedelta(minutes=2))
    result = ingest_batch([Arrival(first, "s"), Arrival(second, "s")], {}, at=AT)
    clean, flagged = result.outcomes
    assert clean.anomalies == ()
    (anomaly,) = flagged.anomalies
    assert (anomaly.code.value, anomaly.data["other"], anomaly.blocking) == (
        "SUSPECTED_DUPLICATE", first.key, True)
    assert [e.kind for e in flagged.events] == ["ingested", "anomaly_opened"]
    assert verify_chain(flagged.events).ok


def test_stored_candidate_flags_the_new_order_only_when_it_really_matches() -> None:
    stored = make_order(1, channel="pdd")
    near = make_order(1, channel="jd", created_at=stored.created_at + timedelta(minutes=1))
    far = make_order(2, channel="jd", created_at=stored.created_at + timedelta(minutes=9),
                     receiver=stored.receiver, lines=stored.lines)
    result = ingest_batch([Arrival(near, "s"), Arrival(far, "s")], {}, at=AT,
                          candidates=[stored])
    assert [len(o.anomalies) for o in result.outcomes] == [1, 0]
