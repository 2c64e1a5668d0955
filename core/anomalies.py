"""Anomalies (异常 on cards): what is wrong with an order, in three classes.

A = data to fix, B = a decision to take, C = a freeze. Open *blocking* anomalies hold the
order (``core.states`` refuses to advance it). Routing, SLAs and escalation build on these
records; this module only defines what an anomaly is and which codes exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from core.clock import require_aware


class AnomalyClass(StrEnum):
    A = "A"  # data fix
    B = "B"  # decision
    C = "C"  # freeze


class AnomalyCode(StrEnum):
    ADDRESS_MISSING = "ADDRESS_MISSING"
    ADDRESS_AMBIGUOUS = "ADDRESS_AMBIGUOUS"
    PHONE_INVALID = "PHONE_INVALID"
    TAX_ID_INVALID = "TAX_ID_INVALID"
    INVOICE_TITLE_MISSING = "INVOICE_TITLE_MISSING"  # company invoice without a title
    CUSTOM_SPEC_INCOMPLETE = "CUSTOM_SPEC_INCOMPLETE"
    OUT_OF_STOCK_SUBSTITUTE = "OUT_OF_STOCK_SUBSTITUTE"
    SUSPECTED_DUPLICATE = "SUSPECTED_DUPLICATE"
    PRICE_MISMATCH = "PRICE_MISMATCH"
    NO_CARRIER = "NO_CARRIER"
    LOW_CREDIT = "LOW_CREDIT"
    CUSTOM_SPEC_CONFLICT = "CUSTOM_SPEC_CONFLICT"
    CUSTOMS_REJECTED = "CUSTOMS_REJECTED"
    PRESALE_BALANCE_STUCK = "PRESALE_BALANCE_STUCK"
    ORDER_STALLED = "ORDER_STALLED"


C = AnomalyCode
CODE_CLASS: Mapping[AnomalyCode, AnomalyClass] = {
    **dict.fromkeys(
        (C.ADDRESS_MISSING, C.ADDRESS_AMBIGUOUS, C.PHONE_INVALID, C.TAX_ID_INVALID,
         C.INVOICE_TITLE_MISSING, C.CUSTOM_SPEC_INCOMPLETE), AnomalyClass.A),
    **dict.fromkeys(
        (C.OUT_OF_STOCK_SUBSTITUTE, C.SUSPECTED_DUPLICATE, C.PRICE_MISMATCH, C.NO_CARRIER,
         C.LOW_CREDIT), AnomalyClass.B),
    **dict.fromkeys(
        (C.CUSTOM_SPEC_CONFLICT, C.CUSTOMS_REJECTED, C.PRESALE_BALANCE_STUCK, C.ORDER_STALLED),
        AnomalyClass.C),
}  # fmt: skip


class AnomalyStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Resolution(StrEnum):
    """How an anomaly was closed: the self-healing rate counts ``auto`` and ``suggestion``."""

    AUTO = "auto"  # the system saw the problem go away (a channel update fixed the data)
    SUGGESTION = "suggestion"  # one tap on the suggested action ("替换为 X")
    MANUAL = "manual"  # a person supplied or decided something ("已补录", "不是重复")
    GATED = "gated"  # a supervisor confirmed a gated action (release a frozen order)


SELF_HEALING: frozenset[Resolution] = frozenset({Resolution.AUTO, Resolution.SUGGESTION})


@dataclass(frozen=True, slots=True)
class Anomaly:
    order_key: str
    code: AnomalyCode
    blocking: bool
    opened_at: datetime
    reason: str
    data: Mapping[str, Any] = field(default_factory=dict)
    status: AnomalyStatus = AnomalyStatus.OPEN
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    id: int | None = None
    level: int = 0  # escalations so far (0: still with the owning role)
    owner_role: str | None = None  # the role routing gave it to
    first_action_at: datetime | None = None  # first tap by anyone (mean time to first action)
    resolution: Resolution | None = None

    @property
    def klass(self) -> AnomalyClass:
        return CODE_CLASS[self.code]

    @property
    def holds_order(self) -> bool:
        return self.blocking and self.status is AnomalyStatus.OPEN


def open_anomaly(
    order_key: str,
    code: AnomalyCode,
    *,
    at: datetime,
    reason: str,
    data: Mapping[str, Any] | None = None,
    blocking: bool = True,
) -> Anomaly:
    """A new open anomaly. Blocking unless routing says otherwise: safer to hold than to ship."""
    return Anomaly(order_key, code, blocking, require_aware(at, "at"), reason, dict(data or {}))


def resolve(anomaly: Anomaly, *, at: datetime, by: str,
            how: Resolution = Resolution.MANUAL) -> Anomaly:
    return replace(anomaly, status=AnomalyStatus.RESOLVED, resolved_at=at, resolved_by=by,
                   resolution=how)


def holds(anomalies: Iterable[Anomaly]) -> tuple[str, ...]:
    """Codes of the open blocking anomalies: what keeps an order from advancing."""
    return tuple(sorted({a.code.value for a in anomalies if a.holds_order}))
