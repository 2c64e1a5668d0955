"""Config ``[routing]``, ``[[substitutes]]`` and ``[timers]``: who gets which anomaly and by
when, which SKUs may replace an out-of-stock one, and where SLA timers are kept.

Example::

    [routing]
    stalled_after_h = 48          # no status change this long on an open order: ORDER_STALLED
    [[routing.rules]]
    match = "A"                   # a class (A, B, C) or a code (ADDRESS_MISSING ...)
    sla_s = 120                   # untouched this long -> next role in the chain
    chain = ["supervisor"]
    [[routing.rules]]
    match = "CUSTOM_SPEC_CONFLICT"
    owner = "production"

    [[substitutes]]
    sku = "SOFA-GREY-3"
    alternatives = ["SOFA-BLUE-3", "SOFA-BEIGE-3"]   # in order of preference

Rules apply over the built-in defaults (``core.routing``): class rules first, then code rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.routing import RoutingError, RoutingTable, build_table


@dataclass(frozen=True)
class RouteConfig:
    match: str = ""
    owner: str = ""
    sla_s: float | None = None
    chain: tuple[str, ...] | None = None
    blocking: bool | None = None

    def values(self) -> dict[str, object]:
        found: dict[str, object] = {"owner": self.owner or None, "sla_s": self.sla_s,
                                    "chain": self.chain, "blocking": self.blocking}
        return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True)
class RoutingConfig:
    stalled_after_h: float = 48.0
    stalled_scan_s: float = 600.0
    prompt_ttl_s: float = 600.0
    rules: tuple[RouteConfig, ...] = ()

    def table(self) -> RoutingTable:
        """Raises ``RoutingError`` naming the rule and what is wrong."""
        overrides: dict[str, dict[str, object]] = {}
        for index, rule in enumerate(self.rules):
            if not rule.match:
                raise RoutingError(f"rules[{index}]: match is required (a class or a code)")
            overrides.setdefault(rule.match.strip(), {}).update(rule.values())
        return build_table(overrides, stalled_after_s=self.stalled_after_h * 3600)


@dataclass(frozen=True)
class SubstituteConfig:
    sku: str = ""
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class TimersConfig:
    """``backend``: "sql" (the database, embedded default) or "redis" (a sorted set, with the
    Redis of ``[inbox] redis_url``); empty means the same as ``[inbox] backend``."""

    backend: str = ""
    lease_s: float = 30.0
    batch: int = 500
    max_sleep_ms: int = 250
    parallel: int = 4


def substitution_table(entries: tuple[SubstituteConfig, ...]) -> Mapping[str, tuple[str, ...]]:
    return {entry.sku: tuple(entry.alternatives) for entry in entries if entry.sku}
