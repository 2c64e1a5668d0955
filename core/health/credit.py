"""Customer-credit dimension: blacklisted or low-credit buyers (LOW_CREDIT, a B decision).

Where the record comes from is a hook (``CreditLookup``): by default the table in config
(``[health.credit]``); a CRM integration fetches records before the check (the check itself is
pure and never waits on the network) and hands them in through the same hook type.
"""

from __future__ import annotations

from collections.abc import Callable

from core.anomalies import AnomalyCode
from core.health.model import Issue
from core.health.rules import CreditRecord, CreditTable
from core.order import Order

CreditLookup = Callable[[Order], CreditRecord | None]


def table_lookup(table: CreditTable) -> CreditLookup:
    """The config table as a lookup: by buyer id, and by receiver phone for the blacklist."""
    return lambda order: table.record(order.buyer_id, order.receiver.phone)


def check_credit(record: CreditRecord | None, min_level: int | None) -> list[Issue]:
    if record is None:
        return []
    issues: list[Issue] = []
    if record.blacklisted:
        why = f"（{record.note}）" if record.note else ""
        issues.append(Issue("credit.blacklist", AnomalyCode.LOW_CREDIT,
                            f"买家在黑名单中{why}，发货前请主管决定是否接单。",
                            {"blacklisted": True}))
    if record.level is not None and min_level is not None and record.level < min_level:
        issues.append(Issue("credit.level", AnomalyCode.LOW_CREDIT,
                            f"买家信用等级 {record.level} 低于要求的 {min_level} 级，"
                            f"请确认收款后再发货。",
                            {"level": record.level, "min_level": min_level}))
    return issues
