"""``check_order``: run every dimension's rules on one order and sort findings by mode.

Pure and synchronous: everything a rule reads is an argument (the order, the rules from
config, a stock snapshot, extra facts, a credit lookup), so the service's handler and
``orderbot check`` give the same answer for the same input.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from core.anomalies import AnomalyCode
from core.health.address import check_address
from core.health.carrier import check_carrier, order_weight_g
from core.health.credit import CreditLookup, check_credit, table_lookup
from core.health.custom import check_custom
from core.health.facts import NO_FACTS, OrderFacts
from core.health.invoice import check_invoice
from core.health.model import Dimension, Finding, HealthReport, Issue, Mode
from core.health.order_facts import custom_from_order
from core.health.phone import check_phone
from core.health.rules import DEFAULT_RULES, HealthRules
from core.health.stock import NEEDS_STOCK, StockSnapshot, check_stock
from core.order import Order


def check_order(
    order: Order,
    rules: HealthRules = DEFAULT_RULES,
    snapshot: StockSnapshot | None = None,
    *,
    facts: OrderFacts = NO_FACTS,
    credit: CreditLookup | None = None,
) -> HealthReport:
    """The health of ``order``. Without a ``snapshot`` stock is not checked; without a
    ``credit`` lookup the config's credit table is used; without custom ``facts`` the
    made-to-order lines' specs are read from the order (``rules.custom_skus``)."""
    parsed, address_issues = check_address(order.receiver)
    found: list[tuple[Dimension, Iterable[Issue]]] = [
        (Dimension.ADDRESS, address_issues),
        (Dimension.PHONE, check_phone(order.receiver, region=rules.phone_region,
                                      accept_landline=rules.accept_landline)),
        (Dimension.CREDIT, check_credit((credit or table_lookup(rules.credit))(order),
                                        rules.credit.min_level)),
        (Dimension.INVOICE, check_invoice(order.invoice)),
    ]
    if snapshot is not None and order.status in NEEDS_STOCK:
        found.append((Dimension.STOCK, check_stock(order.lines, snapshot)))
    if rules.carriers:
        weight = order_weight_g(facts.weight_g, order.lines, rules.sku_weight_g)
        found.append((Dimension.CARRIER, check_carrier(parsed, rules.carriers, weight,
                                                       facts.promise_hours)))
    if not facts.custom and rules.custom_skus and rules.custom:
        facts = replace(facts, custom=custom_from_order(order, rules.custom_skus,
                                                        rules.spec_labels))
    if facts.custom and rules.custom:
        found.append((Dimension.CUSTOM, check_custom(facts.custom, rules.custom)))
    return _report(order.key, rules, found)


def _report(key: str, rules: HealthRules, found: list[tuple[Dimension, Iterable[Issue]]]
            ) -> HealthReport:
    enforced: list[Finding] = []
    shadow: list[Finding] = []
    silenced: set[AnomalyCode] = set()
    for dimension, issues in found:
        for issue in issues:
            mode = rules.mode(issue.rule)
            if mode is Mode.OFF:
                silenced.add(issue.code)
                continue
            finding = Finding(issue.rule, issue.code, dimension, issue.message, mode,
                              issue.data)
            (enforced if mode is Mode.ENFORCE else shadow).append(finding)
    return HealthReport(key, tuple(enforced), tuple(shadow),
                        frozenset(dimension for dimension, _ in found), frozenset(silenced))
