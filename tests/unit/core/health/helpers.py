"""A healthy order to start from, and a way to look at findings by rule id."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.health import HealthReport
from core.order import Invoice, InvoiceKind, Order, Receiver
from tests.factories import make_order

HUAWEI = "914403001922038216"  # 华为技术有限公司, as printed on its licence


def healthy_order(**changes: Any) -> Order:
    order = make_order(7, invoice=Invoice(InvoiceKind.COMPANY, "华为技术有限公司", HUAWEI))
    return replace(order, **changes) if changes else order


def with_receiver(**fields: Any) -> Order:
    order = healthy_order()
    return replace(order, receiver=replace(order.receiver, **fields))


def rules_of(report: HealthReport) -> list[str]:
    return [finding.rule for finding in report.findings]


def plain_receiver(**fields: Any) -> Receiver:
    base = {"name": "王五", "phone": "13912345678", "province": None, "city": None,
            "district": None, "address": None}
    return Receiver(**(base | fields))
