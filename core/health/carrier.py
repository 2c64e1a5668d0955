"""Carrier dimension: does any carrier serve this destination, weight and promise (NO_CARRIER)?

The table is config (``[[health.carriers]]``): rows of destination provinces/cities, maximum
weight and the fastest promise the carriers can keep -> carrier names (中通, 德邦, 顺丰 ...).
No rows means the dimension is not checked. An address that cannot be read is the address
dimension's finding, not a missing carrier.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.address import ParsedAddress
from core.anomalies import AnomalyCode
from core.health.model import Issue
from core.health.rules import CarrierRoute
from core.order import OrderLine


def order_weight_g(facts_weight: int | None, lines: Iterable[OrderLine],
                   sku_weight_g: Mapping[str, int]) -> int | None:
    """The weight the order states, else the sum of configured SKU weights (None if any SKU
    has no weight: an unknown weight rules no carrier out)."""
    if facts_weight is not None:
        return facts_weight
    total = 0
    for line in lines:
        weight = sku_weight_g.get(line.sku)
        if weight is None:
            return None
        total += weight * line.quantity
    return total


def carriers_for(routes: Iterable[CarrierRoute], province: str | None, city: str | None,
                 weight_g: int | None, promise_hours: float | None) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for route in routes:
        if route.serves(province, city, weight_g, promise_hours):
            found.update(dict.fromkeys(route.carriers))
    return tuple(found)


def check_carrier(parsed: ParsedAddress | None, routes: tuple[CarrierRoute, ...],
                  weight_g: int | None, promise_hours: float | None) -> list[Issue]:
    if not routes or parsed is None or not parsed.province or parsed.ambiguous:
        return []
    if carriers_for(routes, parsed.province, parsed.city, weight_g, promise_hours):
        return []
    place = parsed.province + (parsed.city if parsed.city and parsed.city != parsed.province
                               else "")
    terms = [f"{weight_g / 1000:g} kg" if weight_g is not None else "",
             f"承诺 {promise_hours:g} 小时送达" if promise_hours is not None else ""]
    detail = "，".join(t for t in terms if t)
    message = f"没有快递能送{place}{f'（{detail}）' if detail else ''}，请选择发货方式。"
    return [Issue("carrier.match", AnomalyCode.NO_CARRIER, message,
                  {"province": parsed.province, "city": parsed.city, "weight_g": weight_g,
                   "promise_hours": promise_hours})]
