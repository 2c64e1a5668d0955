"""Who may see an order, what a question asks, and the honest delivery estimate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from core.customer_query import Access, Grant, ParcelView, grant, parse_query
from core.customer_replies import expected_delivery
from core.held_status import StatusMove
from core.states import OrderState
from core.tracking import (
    Parcel,
    TraceLine,
    TrackingState,
    is_overdue,
    is_silent,
    order_move,
    order_target,
)

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 12:00 Beijing
T = TrackingState


def test_parse_query_reads_numbers_phone_and_last4() -> None:
    q = parse_query("查单 3900000000000001 尾号5678")
    assert (q.refs, q.last4, q.phone) == (("3900000000000001",), "5678", None)
    q = parse_query("ＳＦ１２３４５６７８９０１２ ５６７８")  # full-width, as typed on phones
    assert (q.refs, q.last4) == (("SF123456789012",), "5678")
    assert parse_query("我的快递到哪了 13812345678").phone == "13812345678"
    assert parse_query("你好").empty


def test_access_rules() -> None:
    phone = "13812345678"
    assert grant(phone, parse_query("查单 123456"), bound=True).grant is Grant.BOUND
    assert grant(phone, parse_query("13812345678"), bound=False).grant is Grant.PHONE
    assert grant(phone, parse_query("123456 5678"), bound=False).grant is Grant.LAST4
    assert grant(phone, parse_query("123456"), bound=False).access is Access.NEED_PROOF
    assert grant(phone, parse_query("123456 0000"), bound=False).access is Access.DENIED
    assert grant(None, parse_query("123456 5678"), bound=False).access is Access.DENIED


def _parcel(state: TrackingState, **changes: object) -> Parcel:
    base = Parcel("SF", "SF1", "taobao:1", "taobao", "wms", NOW - timedelta(days=2), state)
    return Parcel(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, **changes})


def test_estimates_are_honest() -> None:
    pickup = TraceLine(NOW - timedelta(hours=20), "已揽收")
    in_transit = ParcelView(_parcel(T.IN_TRANSIT, last_trace_at=NOW), pickup, pickup)
    assert expected_delivery(in_transit, NOW).startswith("11月25日–11月26日")
    late = ParcelView(_parcel(T.IN_TRANSIT), pickup, pickup)
    assert "已超过通常时效" in expected_delivery(late, NOW + timedelta(days=3))
    assert expected_delivery(ParcelView(_parcel(T.PENDING)), NOW) == "快递揽收后才能估算"
    carrier_says = ParcelView(_parcel(T.IN_TRANSIT, estimated_delivery=date(2026, 11, 27)),
                              pickup, pickup)
    assert expected_delivery(carrier_says, NOW) == "11月27日（快递公司预计）"
    today = TraceLine(NOW - timedelta(hours=1), "派件中")
    assert expected_delivery(ParcelView(_parcel(T.OUT_FOR_DELIVERY), today, pickup),
                             NOW) == "今天"


def test_silence_is_flagged_once_per_silence() -> None:
    quiet = _parcel(T.IN_TRANSIT, last_trace_at=NOW - timedelta(hours=37))
    assert is_silent(quiet, NOW) and is_overdue(quiet, NOW)
    flagged = _parcel(T.IN_TRANSIT, last_trace_at=NOW - timedelta(hours=37),
                      silence_flagged_at=NOW)
    assert not is_silent(flagged, NOW) and is_overdue(flagged, NOW)
    assert not is_silent(_parcel(T.DELIVERED, last_trace_at=NOW - timedelta(days=9)), NOW)
    assert not is_silent(_parcel(T.IN_TRANSIT, last_trace_at=NOW - timedelta(hours=35)), NOW)


def test_scans_move_the_order_as_far_as_the_slowest_parcel() -> None:
    assert order_target([T.DELIVERED, T.IN_TRANSIT]) is OrderState.IN_TRANSIT
    assert order_target([T.PENDING]) is None
    assert order_target([T.EXCEPTION]) is None
    move, why = order_move(OrderState.LABEL_PRINTED, OrderState.DELIVERED)
    assert move.steps == (OrderState.PICKED_UP, OrderState.DELIVERED) and why is None
    move, why = order_move(OrderState.LABEL_PRINTED, OrderState.PICKED_UP, ("PHONE_INVALID",))
    assert move.steps == () and move.deferred and "held" in (why or "")
    move, why = order_move(OrderState.LABEL_PRINTED, OrderState.PICKED_UP, ("ORDER_STALLED",))
    assert move.steps == (OrderState.PICKED_UP,) and move.clears == ("ORDER_STALLED",)
    assert order_move(OrderState.DELIVERED, OrderState.IN_TRANSIT) == (StatusMove(), None)
    move, why = order_move(OrderState.CANCELLED, OrderState.PICKED_UP)
    assert not move.steps and not move.deferred and why
