"""Demo orders: realistic when healthy, wrong in exactly the named way when not, replayable."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import phonenumbers
import pytest

from bot.demo import taxid
from bot.demo.data import PLACES
from bot.demo.generator import UNHEALTHY, DemoOrder, OrderGenerator, Variant, can_make
from bot.demo.settings import DEMO_CHANNELS
from core.fingerprint import is_suspected_duplicate
from core.order import InvoiceKind
from tests.unit.demo.helpers import NOW, parse_one


def valid_mobile(number: str | None) -> bool:
    if not number:
        return False
    parsed = phonenumbers.parse(number, "CN")
    return phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in (
        phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def many(seed: int = 11, count: int = 300) -> list[DemoOrder]:
    generator, rng = OrderGenerator(random.Random(seed)), random.Random(seed)
    return [generator.order(rng.choice(DEMO_CHANNELS), NOW) for _ in range(count)]


def test_healthy_orders_look_real() -> None:
    orders = many()
    known = {(p.province, p.city, p.district) for p in PLACES}
    for order in orders:
        assert valid_mobile(order.phone), order.phone
        assert order.place is not None
        assert (order.place.province, order.place.city, order.place.district) in known
        assert order.street and 1 <= len(order.lines) <= 3
        assert len({line.product.sku for line in order.lines}) == len(order.lines)
        assert 2 <= len(order.name) <= 3
        assert order.created_at < order.paid_at <= NOW
    assert any(o.presale for o in orders) and any(o.remark for o in orders)
    companies = [o.invoice for o in orders if o.invoice and o.invoice.title != "个人"]
    assert companies and all(i.tax_id and taxid.is_valid(i.tax_id) for i in companies)
    assert any(o.invoice and o.invoice.title == "个人" for o in orders)


def test_a_seed_replays_the_same_orders() -> None:
    assert many(seed=5, count=50) == many(seed=5, count=50)
    assert many(seed=5, count=50) != many(seed=6, count=50)


@pytest.mark.parametrize("channel", DEMO_CHANNELS)
def test_missing_address(channel: str) -> None:
    order = OrderGenerator(random.Random(2)).order(channel, NOW, Variant.MISSING_ADDRESS)
    receiver = parse_one(order).receiver
    assert (receiver.province, receiver.city, receiver.district, receiver.address) == (
        None, None, None, None)
    assert valid_mobile(receiver.phone) and receiver.name


@pytest.mark.parametrize("channel", DEMO_CHANNELS)
def test_invalid_phone(channel: str) -> None:
    generator = OrderGenerator(random.Random(2))
    for _ in range(20):
        order = generator.order(channel, NOW, Variant.INVALID_PHONE)
        parsed = parse_one(order)
        assert parsed.receiver.phone == order.phone and not valid_mobile(order.phone)
        assert parsed.receiver.address


@pytest.mark.parametrize("channel", sorted(c for c in DEMO_CHANNELS
                                           if can_make(c, Variant.BAD_TAX_ID)))
def test_bad_tax_id(channel: str) -> None:
    order = OrderGenerator(random.Random(2)).order(channel, NOW, Variant.BAD_TAX_ID)
    invoice = parse_one(order).invoice
    assert invoice is not None and invoice.kind is InvoiceKind.COMPANY
    assert invoice.tax_id and len(invoice.tax_id) == 18 and not taxid.is_valid(invoice.tax_id)
    assert taxid.is_valid(invoice.tax_id[:17] + taxid.check_char(invoice.tax_id[:17]))


@pytest.mark.parametrize(("first", "second"), [("youzan", "pos"), ("taobao", "jd"),
                                               ("pdd", "youzan")])
def test_cross_channel_duplicate_is_what_ingest_flags(first: str, second: str) -> None:
    generator = OrderGenerator(random.Random(4))
    original = generator.order(first, NOW - timedelta(seconds=40))
    copy = generator.order(second, NOW, Variant.DUPLICATE)
    assert copy.order_id != original.order_id
    assert is_suspected_duplicate(parse_one(original), parse_one(copy))


def test_a_duplicate_needs_a_recent_order_elsewhere() -> None:
    generator = OrderGenerator(random.Random(4))
    with pytest.raises(ValueError, match="no recent order"):
        generator.order("jd", NOW, Variant.DUPLICATE)
    generator.order("jd", NOW - timedelta(minutes=10))
    with pytest.raises(ValueError, match="no recent order"):
        generator.order("pdd", NOW, Variant.DUPLICATE)


def test_the_mix_is_mostly_healthy_with_some_of_each() -> None:
    generator = OrderGenerator(random.Random(9))
    counts: Counter[Variant] = Counter()
    for _ in range(2000):
        channel, variant = generator.choose(DEMO_CHANNELS, 0.2, NOW)
        assert can_make(channel, variant)
        generator.order(channel, NOW, variant)  # every choice can be made
        counts[variant] += 1
    assert 0.75 < counts[Variant.HEALTHY] / 2000 < 0.85
    assert all(counts[v] > 50 for v in UNHEALTHY)


def test_share_zero_is_all_healthy_and_unsupported_variants_fall_back() -> None:
    generator = OrderGenerator(random.Random(9))
    assert {generator.choose(DEMO_CHANNELS, 0.0, NOW)[1] for _ in range(200)} == {
        Variant.HEALTHY}
    only_taobao = {generator.choose(("taobao",), 1.0, NOW)[1] for _ in range(200)}
    assert Variant.BAD_TAX_ID not in only_taobao and Variant.DUPLICATE not in only_taobao
