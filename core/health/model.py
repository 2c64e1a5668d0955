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


@dataclass(frozen=True, slots=True)
class HealthReport:
    order_key: str
    enforced: tuple[Finding, ...] = ()
    shadow: tuple[Finding, ...] = ()

    @property
    def healthy(self) -> bool:
        """Only enforced findings count: shadow rules never hold an order."""
        return not self.enforced

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.enforced + self.shadow
