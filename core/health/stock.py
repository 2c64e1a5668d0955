"""Stock dimension: can every line be reserved now (OUT_OF_STOCK_SUBSTITUTE otherwise)?

The inventory service does not exist yet; what the check reads is a *snapshot* port: anything
that answers ``available(sku)``. Handlers feed it (the stock snapshot table today, the
inventory service later); ``StockTable`` is the plain in-memory form. A SKU the snapshot does
not know is not judged (not every product's stock is tracked). Only orders that have not yet
been allocated need stock: later states already hold their goods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from core.anomalies import AnomalyCode
from core.health.model import Issue
from core.order import OrderLine
from core.states import OrderState

NEEDS_STOCK = frozenset({OrderState.PENDING_PAYMENT, OrderState.DEPOSIT_PAID, OrderState.PAID,
                         OrderState.AWAITING_ALLOCATION})


class StockSnapshot(Protocol):
    def available(self, sku: str) -> int | None:
        """Units that can be reserved now, or None when this SKU's stock is not tracked."""
        ...


@dataclass(frozen=True, slots=True)
class StockTable:
    levels: Mapping[str, int] = field(default_factory=dict)

    def available(self, sku: str) -> int | None:
        return self.levels.get(sku)


def check_stock(lines: Iterable[OrderLine], snapshot: StockSnapshot) -> list[Issue]:
    needed: dict[str, int] = {}
    for line in lines:
        needed[line.sku] = needed.get(line.sku, 0) + line.quantity
    short = [(sku, need, have) for sku, need in needed.items()
             if (have := snapshot.available(sku)) is not None and have < need]
    if not short:
        return []
    parts = "；".join(f"{sku} 需要 {need} 件，可用 {max(have, 0)} 件" for sku, need, have in short)
    return [Issue("stock.reservable", AnomalyCode.OUT_OF_STOCK_SUBSTITUTE,
                  f"库存不足，无法预留：{parts}。",
                  {"short": [{"sku": s, "need": n, "available": h} for s, n, h in short]})]
