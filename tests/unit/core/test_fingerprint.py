"""Identity and suspected-duplicate keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.fingerprint import (
    duplicate_key,
    duplicate_probe_keys,
    identity_key,
    is_suspected_duplicate,
    normalise_phone,
)
from core.order import OrderLine, Receiver
from tests.factories import T0, make_order


def test_identity_key() -> None:
    assert identity_key("jd", "123") == "jd:123" == make_order(1, channel="jd",
                                                               channel_order_id="123").key


def test_phone_normalisation() -> None:
    assert normalise_phone("+86 138-0013-8000") == "13800138000"
    assert normalise_phone("008613800138000") == "13800138000"
    assert normalise_phone("138****8000") is None
    assert normalise_phone("12") is None
    assert normalise_phone(None) is None


def twin(minutes: float, **changes: object):  # type: ignore[no-untyped-def]
    base = make_order(1, channel="taobao")
    other = make_order(1, channel="douyin", channel_order_id="DY1",
                       created_at=base.created_at + timedelta(minutes=minutes))
    return base, replace(other, **changes) if changes else other


def test_same_buyer_same_goods_other_channel_within_window() -> None:
    a, b = twin(2.5)
    assert is_suspected_duplicate(a, b) and is_suspected_duplicate(b, a)


def test_line_order_and_split_lines_do_not_matter() -> None:
    a, b = twin(1)
    split = (*b.lines[::-1], replace(b.lines[0], quantity=0 + 1))
    merged = replace(b, lines=split)
    assert not is_suspected_duplicate(a, merged)  # one more unit of SKU: different goods
    assert is_suspected_duplicate(a, replace(b, lines=b.lines[::-1]))


def test_not_duplicates() -> None:
    a, b = twin(3.5)
    assert not is_suspected_duplicate(a, b)  # outside ±3 min
    a, b = twin(1)
    assert not is_suspected_duplicate(a, replace(b, channel="taobao"))  # same channel
    assert not is_suspected_duplicate(a, replace(b, receiver=Receiver(phone="13900000000")))
    assert not is_suspected_duplicate(a, replace(b, lines=(OrderLine("X", "x", 1, 1, 1),)))


def test_neighbour_buckets_are_probed() -> None:
    # 10 s apart but on both sides of a 3-minute bucket edge
    edge = T0.replace(minute=0, second=0) + timedelta(minutes=3)
    a = make_order(1, created_at=edge - timedelta(seconds=5))
    b = make_order(1, channel="pdd", created_at=edge + timedelta(seconds=5))
    assert duplicate_key(a) != duplicate_key(b)
    assert duplicate_key(b) in duplicate_probe_keys(a)
    assert len(duplicate_probe_keys(a)) == 3


def test_no_key_without_phone_or_lines() -> None:
    assert duplicate_key(make_order(1, receiver=Receiver(phone="138****0000"))) is None
    assert duplicate_key(make_order(1, lines=())) is None
    assert duplicate_probe_keys(make_order(1, lines=())) == ()


def test_key_does_not_contain_the_phone() -> None:
    order = make_order(1)
    assert order.receiver.phone is not None
    assert order.receiver.phone not in (duplicate_key(order) or "")
