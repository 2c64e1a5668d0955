"""Order health checks: address, phone, customer credit, stock, carrier, invoice and
custom-order completeness, each a small rule set in its own module.

The one entry point is ``check_order(order, rules, snapshot) -> HealthReport``; rules come from
``[health]`` in config (``bot.health_config``), each in mode enforce, shadow or off.
"""

from __future__ import annotations

from core.health.check import check_order
from core.health.credit import CreditLookup
from core.health.facts import NO_FACTS, CustomSpec, OrderFacts, facts_from_json
from core.health.model import CODE_DIMENSION, Dimension, Finding, HealthReport, Mode
from core.health.order_facts import DEFAULT_SPEC_LABELS, custom_from_order, read_spec
from core.health.rules import (
    DEFAULT_RULES,
    RULE_IDS,
    CarrierRoute,
    Condition,
    CreditRecord,
    CreditTable,
    CustomRule,
    HealthRules,
    RuleError,
)
from core.health.stock import StockSnapshot, StockTable

__all__ = [
    "CODE_DIMENSION", "DEFAULT_RULES", "DEFAULT_SPEC_LABELS", "NO_FACTS", "RULE_IDS",
    "CarrierRoute", "Condition", "CreditLookup", "CreditRecord", "CreditTable", "CustomRule",
    "CustomSpec", "Dimension", "Finding", "HealthReport", "HealthRules", "Mode", "OrderFacts",
    "RuleError", "StockSnapshot", "StockTable", "check_order", "custom_from_order",
    "facts_from_json", "read_spec",
]  # fmt: skip
