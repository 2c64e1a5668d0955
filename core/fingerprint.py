"""Order identity and the cross-channel "suspected duplicate" key.

Identity is ``(channel, channel_order_id)``. A suspected duplicate is the same buyer ordering
the same thing on another channel within ±3 minutes: same normalised phone, same SKU multiset,
created times at most ``DUPLICATE_WINDOW`` apart. Keys bucket the created time into windows of
that width; a probe looks in its own bucket and both neighbours, so two orders 10 s apart but
on either side of a bucket edge are still found. ``is_suspected_duplicate`` makes the exact
check on candidates.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from core.order import Order

DUPLICATE_WINDOW = timedelta(minutes=3)
_WINDOW_S = int(DUPLICATE_WINDOW.total_seconds())
_NON_DIGITS = re.compile(r"\D+")


def identity_key(channel: str, channel_order_id: str) -> str:
    return f"{channel}:{channel_order_id}"


def normalise_phone(phone: str | None) -> str | None:
    """Digits only, without a +86/0086/86 prefix; ``None`` if too short to identify a buyer.

    Masked phones (``138****5678``) normalise to ``None``: they cannot identify anyone.
    """
    if not phone or "*" in phone:
        return None
    digits = _NON_DIGITS.sub("", phone)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            digits = digits[len(prefix) :]
    return digits if len(digits) >= 7 else None


def sku_multiset(order: Order) -> str:
    """``sku*qty`` sorted and joined: the same goods in any line order give the same text.
    (A plain dict: ``Counter()`` costs more than the rest of this function, which runs
    several times per ingested order.)"""
    counts: dict[str, int] = {}
    for line in order.lines:
        counts[line.sku] = counts.get(line.sku, 0) + line.quantity
    return "|".join(f"{sku}*{qty}" for sku, qty in sorted(counts.items()))


def time_bucket(order: Order) -> int:
    return int(order.created_at.timestamp()) // _WINDOW_S


def _buyer_goods(order: Order) -> str | None:
    phone = normalise_phone(order.receiver.phone)
    if phone is None or not order.lines:
        return None
    return f"{phone}\x1f{sku_multiset(order)}"


def _hashed(buyer_goods: str, bucket: int) -> str:
    return hashlib.sha256(f"{buyer_goods}\x1f{bucket}".encode()).hexdigest()[:40]


def duplicate_key(order: Order, bucket: int | None = None) -> str | None:
    """Hashed (phone, goods, bucket): storable and indexable without keeping the phone."""
    buyer_goods = _buyer_goods(order)
    if buyer_goods is None:
        return None
    return _hashed(buyer_goods, time_bucket(order) if bucket is None else bucket)


def duplicate_probe_keys(order: Order) -> tuple[str, ...]:
    """Keys of the order's bucket and both neighbours (empty if the order has no key)."""
    buyer_goods = _buyer_goods(order)
    if buyer_goods is None:
        return ()
    bucket = time_bucket(order)
    return tuple(_hashed(buyer_goods, bucket + delta) for delta in (-1, 0, 1))


def duplicate_group_lock(order: Order) -> int | None:
    """A signed 64-bit number per (phone, goods) with the time left out, so twins in
    neighbouring buckets share it: a database serialises their duplicate checks on it (one
    PostgreSQL advisory lock), else two batches storing twins at once miss each other."""
    buyer_goods = _buyer_goods(order)
    if buyer_goods is None:
        return None
    digest = hashlib.sha256(buyer_goods.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def is_suspected_duplicate(a: Order, b: Order) -> bool:
    """Same buyer phone and goods on *different* channels, created within the window."""
    phone = normalise_phone(a.receiver.phone)
    return (
        a.channel != b.channel
        and phone is not None
        and phone == normalise_phone(b.receiver.phone)
        and bool(a.lines)
        and sku_multiset(a) == sku_multiset(b)
        and abs(a.created_at - b.created_at) <= DUPLICATE_WINDOW
    )
