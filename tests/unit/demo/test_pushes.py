"""Every demo push verifies and parses with the channel's own adapter into the order we meant.

Transcript: the demo makes an order, renders it in the platform's shape, signs it the way the
platform signs; the adapter accepts the signature and maps it to the canonical order.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest

from bot.demo.generator import (
    CAN_PRESALE,
    CAN_SHIP,
    CARRIES_TAX_ID,
    DemoOrder,
    OrderGenerator,
    Stage,
    Variant,
    advance,
    can_make,
)
from bot.demo.settings import DEMO_CHANNELS
from core.order import InvoiceKind, Order
from core.states import OrderState
from integrations.channels import registry
from tests.unit.demo.helpers import NOW, SHOPS, as_received, parse_one

CANONICAL = {Stage.DEPOSIT_PAID: OrderState.DEPOSIT_PAID, Stage.PAID: OrderState.PAID,
             Stage.SHIPPED: OrderState.LABEL_PRINTED}


def orders_of(channel: str, count: int = 40, seed: int = 3) -> list[DemoOrder]:
    generator = OrderGenerator(random.Random(seed))
    return [generator.order(channel, NOW) for _ in range(count)]


def assert_same(parsed: Order, order: DemoOrder) -> None:
    assert (parsed.channel, parsed.channel_order_id) == (order.channel, order.order_id)
    assert parsed.status is CANONICAL[order.stage]
    assert parsed.receiver.phone == order.phone and parsed.receiver.name == order.name
    assert Counter({x.sku: x.quantity for x in parsed.lines}) == Counter(
        {x.product.sku: x.quantity for x in order.lines})
    assert parsed.total_fen == order.goods_fen and parsed.freight_fen == order.freight_fen
    assert parsed.paid_fen == order.paid_so_far_fen
    assert parsed.created_at == order.created_at.replace(microsecond=0)
    assert parsed.presale is order.presale
    assert parsed.remark == order.remark


@pytest.mark.parametrize("channel", DEMO_CHANNELS)
def test_new_orders_parse_into_what_was_generated(channel: str) -> None:
    for order in orders_of(channel):
        assert_same(parse_one(order), order)


@pytest.mark.parametrize("channel", DEMO_CHANNELS)
def test_every_later_step_parses_too(channel: str) -> None:
    stages = set()
    for order in orders_of(channel):
        step: DemoOrder | None = order
        while step is not None:
            stages.add(step.stage)
            assert_same(parse_one(step), step)
            step = advance(step, NOW)
    expected = {Stage.PAID} | ({Stage.DEPOSIT_PAID} if channel in CAN_PRESALE else set()) | (
        {Stage.SHIPPED} if channel in CAN_SHIP else set())
    assert stages == expected


@pytest.mark.parametrize("channel", DEMO_CHANNELS)
def test_a_push_signed_with_another_secret_is_refused(channel: str) -> None:
    order = orders_of(channel, 1)[0]
    request, _ = as_received(order)
    other = "someone:else" if channel == "youzan" else "not-the-secret"
    assert not registry.get(channel).verify_webhook(request, other)
    tampered = replace(request, body=request.body.replace(b"1", b"2", 1))
    assert not registry.get(channel).verify_webhook(tampered, SHOPS[channel].webhook_secret)


@pytest.mark.parametrize("channel", DEMO_CHANNELS)
def test_invoices_arrive_as_the_channel_can_carry_them(channel: str) -> None:
    with_invoice = [o for o in orders_of(channel, 120) if o.invoice is not None]
    assert with_invoice
    for order in with_invoice:
        assert order.invoice is not None
        parsed = parse_one(order).invoice
        assert parsed is not None
        if channel == "pdd":  # POP orders only say "an invoice was asked for"
            continue
        personal = order.invoice.title == "个人"
        assert parsed.kind is (InvoiceKind.PERSONAL if personal else InvoiceKind.COMPANY)
        assert parsed.title == order.invoice.title
        if channel in CARRIES_TAX_ID:
            assert parsed.tax_id == order.invoice.tax_id


@pytest.mark.parametrize("channel", DEMO_CHANNELS)
@pytest.mark.parametrize("variant", [Variant.MISSING_ADDRESS, Variant.INVALID_PHONE,
                                     Variant.BAD_TAX_ID])
def test_unhealthy_variants_still_parse(channel: str, variant: Variant) -> None:
    """A sick order is a valid payload: the health checks, not the parser, must catch it."""
    if not can_make(channel, variant):
        with pytest.raises(ValueError, match="cannot"):
            OrderGenerator(random.Random(1)).order(channel, NOW, variant)
        return
    order = OrderGenerator(random.Random(1)).order(channel, NOW, variant)
    assert_same(parse_one(order), order)
