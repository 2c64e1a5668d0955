"""Out-of-stock substitutes: which SKUs may replace one (a table from config), which of them
are in stock for the quantity ordered, and the order with the replacement made.

The table lists substitutes in order of preference (``[substitutes] "SOFA-GREY" = ["SOFA-BLUE",
"SOFA-BEIGE"]``). Stock levels come from whoever opens the anomaly (the stock health check);
the card offers at most three, first in preference order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from core.order import Order

MAX_OFFERED = 3


class SubstitutionError(ValueError):
    """The order no longer has the SKU to replace."""


def in_stock_substitutes(sku: str, table: Mapping[str, Sequence[str]],
                         stock: Mapping[str, int], quantity: int) -> list[str]:
    """Substitutes of ``sku`` with at least ``quantity`` available, in preference order."""
    return [alt for alt in table.get(sku, ()) if alt != sku
            and stock.get(alt, 0) >= quantity][:MAX_OFFERED]


def substitute(order: Order, sku: str, new_sku: str) -> Order:
    """Every line of ``sku`` now ``new_sku`` (price and quantity kept: the buyer paid for the
    line, the substitute is an equivalent the seller offers)."""
    if not any(line.sku == sku for line in order.lines):
        raise SubstitutionError(f"order {order.key} has no line with SKU {sku}")
    lines = tuple(replace(line, sku=new_sku, channel_sku_id=None,
                          title=f"{new_sku}（替代 {line.title or sku}）")
                  if line.sku == sku else line for line in order.lines)
    return replace(order, lines=lines)


def quantity_of(order: Order, sku: str) -> int:
    return sum(line.quantity for line in order.lines if line.sku == sku)
