"""Builders for realistic canonical orders in tests and benchmarks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from core.order import Invoice, InvoiceKind, Order, OrderLine, Receiver
from core.states import OrderState

T0 = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)


def make_order(n: int = 1, *, channel: str = "taobao", **changes: Any) -> Order:
    """Order number ``n``: 3 lines, a full receiver, paid; override any field by keyword."""
    lines = tuple(
        OrderLine(sku=f"SKU-{(n + i) % 500:04d}", channel_sku_id=str(4_000_000 + n * 3 + i),
                  title=f"北欧布艺沙发 {i + 1} 号", quantity=1 + i, unit_price_fen=19_900 + i,
                  paid_fen=(19_900 + i) * (1 + i))
        for i in range(3)
    )  # fmt: skip
    total = sum(line.paid_fen for line in lines)
    order = Order(
        channel=channel,
        channel_order_id=str(3_900_000_000_000_000 + n),
        status=OrderState.PAID,
        channel_status="WAIT_SELLER_SEND_GOODS",
        buyer_id=f"buyer-{n}",
        receiver=Receiver(name="张三", phone=f"138{n % 100_000_000:08d}", province="浙江省",
                          city="杭州市", district="西湖区", address=f"文三路 {n % 900 + 1} 号"),
        lines=lines,
        total_fen=total + 1000,
        paid_fen=total + 1000,
        freight_fen=1000,
        created_at=T0 + timedelta(seconds=n),
        paid_at=T0 + timedelta(seconds=n + 30),
        remark=None,
        invoice=Invoice(InvoiceKind.COMPANY, "杭州某某家居有限公司", "91330106MA2GL1RQ5X"),
    )  # fmt: skip
    return replace(order, **changes) if changes else order
