"""What a health check says about an order: findings, split by rule mode, in one report.

A *finding* is one rule that did not pass: its anomaly code (and so its A/B/C class), the
dimension it belongs to, a sentence a customer-service agent can act on, and the rule id that
config uses. A rule in ``shadow`` mode still produces findings — they are counted and reported
so a new rule can be watched on real traffic — but they never make an order unhealthy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.anomalies import CODE_CLASS, AnomalyClass, AnomalyCode


class Mode(StrEnum):
    ENFORCE = "enforce"  # a finding makes the order unhealthy (an anomaly is opened)
    SHADOW = "shadow"  # counted and reported, never blocks
    OFF = "off"  # not evaluated at all


class Dimension(StrEnum):
    ADDRESS = "address"
    PHONE = "phone"
    CREDIT = "credit"
    STOCK = "stock"
    CARRIER = "carrier"
    INVOICE = "invoice"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class Issue:
    """What a dimension's rule found, before the rule's mode is applied."""

    rule: str
    code: AnomalyCode
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)  # evidence for the anomaly card


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str  # config id, e.g. "address.ambiguous" or "custom.sofa_floor_plan"
    code: AnomalyCode
    dimension: Dimension
    message: str
    mode: Mode
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def klass(self) -> AnomalyClass:
        return CODE_CLASS[self.code]

    def to_json(self) -> dict[str, Any]:
        """The CLI/report shape: code, class, dimension, message, plus rule and mode."""
        return {"code": self.code.value, "class": self.klass.value,
                "dimension": self.dimension.value, "message": self.message,
                "rule": self.rule, "mode": self.mode.value}


# Which dimension's rules can find each code: a code whose dimension ran and found nothing
# (in any mode) no longer holds, so its open anomaly can close by itself.
CODE_DIMENSION: Mapping[AnomalyCode, Dimension] = {
    AnomalyCode.ADDRESS_MISSING: Dimension.ADDRESS,
    AnomalyCode.ADDRESS_AMBIGUOUS: Dimension.ADDRESS,
    AnomalyCode.PHONE_INVALID: Dimension.PHONE,
    AnomalyCode.LOW_CREDIT: Dimension.CREDIT,
    AnomalyCode.OUT_OF_STOCK_SUBSTITUTE: Dimension.STOCK,
    AnomalyCode.NO_CARRIER: Dimension.CARRIER,
    AnomalyCode.TAX_ID_INVALID: Dimension.INVOICE,
    AnomalyCode.INVOICE_TITLE_MISSING: Dimension.INVOICE,
    AnomalyCode.CUSTOM_SPEC_INCOMPLETE: Dimension.CUSTOM,
    AnomalyCode.CUSTOM_SPEC_CONFLICT: Dimension.CUSTOM,
}


@dataclass(frozen=True, slots=True)
class HealthReport:
    order_key: str
    enforced: tuple[Finding, ...] = ()
    shadow: tuple[Finding, ...] = ()
    checked: frozenset[Dimension] = frozenset()  # dimensions whose rules ran on this order
    silenced: frozenset[AnomalyCode] = frozenset()  # found only by rules switched off

    def cleared(self, code: AnomalyCode) -> bool:
        """True when the check ran the rules that find ``code`` and none of them found it:
        the problem is gone (a later push fixed the data). A code found by a rule that is now
        off is not cleared: switching a rule off is not the order healing."""
        dimension = CODE_DIMENSION.get(code)
        return (dimension in self.checked and code not in self.silenced
                and all(f.code is not code for f in self.findings))

    @property
    def healthy(self) -> bool:
        """Only enforced findings count: shadow rules never hold an order."""
        return not self.enforced

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.enforced + self.shadow
