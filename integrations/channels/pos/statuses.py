"""POS receipt ``status`` words (our own export format, see README.md) -> canonical states."""

from __future__ import annotations

from core.states import OrderState as S
from integrations.channels.base import StatusTable

STATUSES = StatusTable(
    channel="pos",
    table={
        "PENDING": S.PENDING_PAYMENT,  # receipt opened, not settled
        "DEPOSIT": S.DEPOSIT_PAID,  # 定金 taken at the counter, balance due on pick-up/delivery
        "PAID": S.PAID,  # settled, goods to be delivered from the warehouse
        "COMPLETED": S.COMPLETED,  # settled and handed over at the counter
        "REFUNDING": S.AFTER_SALE,
        "REFUNDED": S.REFUNDED,
        "VOID": S.CANCELLED,
    },
)
