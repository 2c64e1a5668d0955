"""Platform-neutral demo orders: who buys what, where, and what is wrong with it (``Variant``).

Everything random comes from one ``random.Random`` and every time from the caller's ``now``, so
a seed replays the same orders. ``platforms`` renders a ``DemoOrder`` in a channel's own shape.
Unhealthy variants exist so the health checks (issue 5) have something to find: the feeder's
mix sends mostly healthy orders and a small share of each of the others.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot.demo import taxid
from bot.demo.data import (
    CATALOGUE,
    COMPANIES,
    CUSTOM_CONFLICT_REMARK,
    CUSTOM_SKUS,
    GIVEN_NAMES,
    MOBILE_PREFIXES,
    OUT_OF_STOCK,
    PLACES,
    REMARKS,
    SURNAMES,
    Place,
    Product,
)
from core.clock import SHANGHAI

# What each demo channel's push can express (see ``platforms``).
CAN_PRESALE = frozenset({"youzan", "taobao", "pdd", "pos"})
CAN_SHIP = frozenset({"youzan", "taobao", "jd", "pdd"})  # a POS receipt is never "shipped"
CARRIES_TAX_ID = frozenset({"jd", "pos"})  # the others' order payloads have no tax id field
DUPLICATE_WITHIN = timedelta(minutes=2)  # inside the ±3 min suspected-duplicate window


class Variant(StrEnum):
    HEALTHY = "healthy"
    MISSING_ADDRESS = "missing_address"
    INVALID_PHONE = "invalid_phone"
    BAD_TAX_ID = "bad_tax_id"
    DUPLICATE = "cross_channel_duplicate"
    OUT_OF_STOCK = "out_of_stock"  # a sold-out sofa whose substitute is in stock (B)
    CUSTOM_CONFLICT = "custom_conflict"  # a corner sofa too shallow to make (C freeze)


UNHEALTHY = tuple(v for v in Variant if v is not Variant.HEALTHY)


class Stage(StrEnum):
    """Where the order is in its life; ``advance`` moves it on, one push per step."""

    DEPOSIT_PAID = "deposit_paid"
    PAID = "paid"
    SHIPPED = "shipped"


@dataclass(frozen=True, slots=True)
class Line:
    product: Product
    quantity: int
    discount_fen: int = 0

    @property
    def goods_fen(self) -> int:
        return self.product.price_fen * self.quantity

    @property
    def paid_fen(self) -> int:
        return self.goods_fen - self.discount_fen


@dataclass(frozen=True, slots=True)
class InvoiceRequest:
    title: str  # "个人" for a personal invoice, else the company name
    tax_id: str | None = None


@dataclass(frozen=True, slots=True)
class DemoOrder:
    channel: str
    order_id: str
    variant: Variant
    stage: Stage
    created_at: datetime
    paid_at: datetime
    updated_at: datetime
    buyer_id: str
    name: str
    phone: str
    place: Place | None  # None: the receiver's address is missing
    street: str
    lines: tuple[Line, ...]
    freight_fen: int = 0
    deposit_fen: int = 0  # > 0 for a presale (定金) order
    remark: str | None = None
    invoice: InvoiceRequest | None = None

    @property
    def presale(self) -> bool:
        return self.deposit_fen > 0

    @property
    def goods_fen(self) -> int:
        return sum(line.goods_fen for line in self.lines)

    @property
    def discount_fen(self) -> int:
        return sum(line.discount_fen for line in self.lines)

    @property
    def payment_fen(self) -> int:
        """What the buyer pays in all: goods after discounts plus freight."""
        return sum(line.paid_fen for line in self.lines) + self.freight_fen

    @property
    def paid_so_far_fen(self) -> int:
        return self.deposit_fen if self.stage is Stage.DEPOSIT_PAID else self.payment_fen


def can_make(channel: str, variant: Variant) -> bool:
    """A bad tax id only shows on channels whose payload carries one."""
    return variant is not Variant.BAD_TAX_ID or channel in CARRIES_TAX_ID


def advance(order: DemoOrder, now: datetime) -> DemoOrder | None:
    """The next step (balance paid, then shipped), or None when the demo is done with it."""
    if order.stage is Stage.DEPOSIT_PAID:
        return replace(order, stage=Stage.PAID, paid_at=now, updated_at=now)
    if order.stage is Stage.PAID and order.channel in CAN_SHIP:
        return replace(order, stage=Stage.SHIPPED, updated_at=now)
    return None


class OrderGenerator:
    """Makes orders; remembers the last few so a cross-channel duplicate can copy one."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._recent: deque[DemoOrder] = deque(maxlen=30)

    def choose(self, channels: tuple[str, ...], unhealthy_share: float,
               now: datetime) -> tuple[str, Variant]:
        """A channel and a variant from the mix: ``unhealthy_share`` split evenly over the
        unhealthy variants, each only where it can be made (else a healthy order)."""
        channel = self.rng.choice(channels)
        if self.rng.random() >= unhealthy_share:
            return channel, Variant.HEALTHY
        variant = self.rng.choice(UNHEALTHY)
        if variant is Variant.DUPLICATE:
            original = self._original(now, None)
            others = [c for c in channels if original and c != original.channel]
            return (self.rng.choice(others), variant) if others else (channel, Variant.HEALTHY)
        if not can_make(channel, variant):
            makers = [c for c in channels if can_make(c, variant)]
            return (self.rng.choice(makers), variant) if makers else (channel, Variant.HEALTHY)
        return channel, variant

    def order(self, channel: str, now: datetime, variant: Variant = Variant.HEALTHY
              ) -> DemoOrder:
        """A new order on ``channel``; a variant that cannot be made here raises ValueError."""
        if not can_make(channel, variant):
            raise ValueError(f"{variant} cannot be shown on {channel}")
        if variant is Variant.DUPLICATE:
            made = self._duplicate(channel, now)
        else:
            made = _spoil(self._healthy(channel, now), variant, self.rng)
        self._recent.append(made)
        return made

    def _healthy(self, channel: str, now: datetime) -> DemoOrder:
        rng = self.rng
        created = now - timedelta(seconds=rng.uniform(20, 90))
        lines = self._lines()
        place = rng.choice(PLACES)
        made = DemoOrder(
            channel=channel, order_id=order_id(channel, created, rng), variant=Variant.HEALTHY,
            stage=Stage.PAID, created_at=created,
            paid_at=created + timedelta(seconds=rng.uniform(5, 15)), updated_at=now,
            buyer_id=f"demo{rng.getrandbits(64):016x}", name=person(rng), phone=mobile(rng),
            place=place, street=street(place, rng), lines=lines,
            freight_fen=rng.choice((0, 0, 0, 800, 1000)),
            remark=rng.choice(REMARKS) if rng.random() < 0.3 else None,
            invoice=invoice(place, rng, company=channel in CARRIES_TAX_ID)
            if rng.random() < 0.15 else None,
        )
        presale = channel in CAN_PRESALE and any(line.product.presale for line in lines)
        if presale and rng.random() < 0.7:
            made = replace(made, stage=Stage.DEPOSIT_PAID, deposit_fen=deposit(made.goods_fen))
        return made

    def _lines(self) -> tuple[Line, ...]:
        rng = self.rng
        goods = CATALOGUE[rng.choice(sorted(CATALOGUE))]
        count = min(rng.choices((1, 2, 3), weights=(6, 3, 1))[0], len(goods))
        lines = [Line(p, rng.randint(1, p.max_quantity)) for p in rng.sample(goods, count)]
        if rng.random() < 0.3:  # a shop coupon on the first line: 5 %, whole yuan
            first = lines[0]
            lines[0] = replace(first, discount_fen=first.goods_fen // 2000 * 100)
        return tuple(lines)

    def _original(self, now: datetime, channel: str | None) -> DemoOrder | None:
        """The newest healthy order from another channel created recently enough."""
        for made in reversed(self._recent):
            fresh = now - made.created_at <= DUPLICATE_WITHIN
            if fresh and made.channel != channel and made.variant is Variant.HEALTHY:
                return made
        return None

    def _duplicate(self, channel: str, now: datetime) -> DemoOrder:
        """The same buyer (phone) and goods as a recent order on another channel: a customer
        who ordered twice, or a shop that keyed in a phone order again. Plain paid order."""
        original = self._original(now, channel)
        if original is None:
            raise ValueError(f"no recent order on another channel than {channel} to duplicate")
        later = original.created_at + timedelta(seconds=self.rng.uniform(10, 60))
        created = min(later, now - timedelta(seconds=5))
        lines = tuple(replace(line, discount_fen=0) for line in original.lines)
        return replace(original, channel=channel, order_id=order_id(channel, created, self.rng),
                       variant=Variant.DUPLICATE, stage=Stage.PAID, created_at=created,
                       paid_at=created + timedelta(seconds=3), updated_at=now,
                       buyer_id=f"demo{self.rng.getrandbits(64):016x}", lines=lines,
                       deposit_fen=0, invoice=None)


def _spoil(order: DemoOrder, variant: Variant, rng: random.Random) -> DemoOrder:
    """Make a healthy order unhealthy in exactly the way ``variant`` names."""
    if variant is Variant.MISSING_ADDRESS:
        return replace(order, variant=variant, place=None, street="")
    if variant is Variant.INVALID_PHONE:
        return replace(order, variant=variant, phone=bad_mobile(rng))
    if variant is Variant.BAD_TAX_ID:
        good = taxid.make(order.place.division if order.place else "110105", rng)
        company = InvoiceRequest(rng.choice(COMPANIES), taxid.corrupt(good))
        return replace(order, variant=variant, invoice=company)
    if variant is Variant.OUT_OF_STOCK:
        return _only(order, variant, OUT_OF_STOCK, order.remark)
    if variant is Variant.CUSTOM_CONFLICT:
        custom = next(p for goods in CATALOGUE.values() for p in goods if p.sku in CUSTOM_SKUS)
        return _only(order, variant, custom, CUSTOM_CONFLICT_REMARK)
    return order


def _only(order: DemoOrder, variant: Variant, product: Product, remark: str | None
          ) -> DemoOrder:
    """The order with one line of ``product``, fully paid (no deposit stage to move on)."""
    return replace(order, variant=variant, lines=(Line(product, 1),), stage=Stage.PAID,
                   deposit_fen=0, remark=remark)


def order_id(channel: str, created: datetime, rng: random.Random) -> str:
    """An id in the platform's own format (digits and prefixes as the platforms issue them,
    dates in Beijing time)."""
    local = created.astimezone(SHANGHAI)
    day = local.strftime("%Y%m%d")
    if channel == "youzan":
        return f"E{local:%Y%m%d%H%M%S}{rng.randrange(10**9):09d}"
    if channel == "taobao":
        return str(rng.randrange(10**18, 10**19))
    if channel == "jd":
        return str(rng.randrange(10**11, 10**12))
    if channel == "pdd":
        return f"{day[2:]}-{rng.randrange(10**14, 10**15)}"
    return f"{rng.choice(('SH01', 'HZ03', 'GZ02'))}-{day}-{rng.randrange(1, 10**4):04d}"


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def mobile(rng: random.Random) -> str:
    """A mobile number of a segment in use: valid for ``phonenumbers`` and the checks."""
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def bad_mobile(rng: random.Random) -> str:
    """A number no buyer can have: one digit short, one too many, or a segment never issued."""
    good = mobile(rng)
    return rng.choice((good[:10], good + str(rng.randrange(10)), "12" + good[2:]))


def street(place: Place, rng: random.Random) -> str:
    building, unit, room = rng.randint(1, 30), rng.randint(1, 4), rng.randint(1, 28)
    return f"{rng.choice(place.streets)}{building}栋{unit}单元{room}0{rng.randint(1, 4)}室"


def invoice(place: Place, rng: random.Random, *, company: bool = True) -> InvoiceRequest:
    """A personal invoice, or a company one with a valid 统一社会信用代码 from the same city.
    ``company`` False (the channel's payload has no tax id field): always personal, since a
    company invoice without its tax id is an anomaly (TAX_ID_INVALID), not a healthy order."""
    if rng.random() < 0.4 or not company:  # (the same draws either way: seeds replay)
        return InvoiceRequest("个人")
    return InvoiceRequest(rng.choice(COMPANIES), taxid.make(place.division, rng))


def deposit(goods_fen: int) -> int:
    """定金: a fifth of the goods, in whole hundreds of yuan, at least 100 yuan."""
    return max(goods_fen // 5 // 10000 * 10000, 10000)
