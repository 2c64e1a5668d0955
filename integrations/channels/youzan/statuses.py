"""有赞 trade status words -> canonical states.

Source: the ``status`` enum of ``youzan.trade.get`` / ``youzan.trades.sold.get`` 4.0
(``full_order_info.order_info.status``): WAIT_BUYER_PAY, TRADE_PAID, WAIT_CONFIRM,
WAIT_SELLER_SEND_GOODS, WAIT_BUYER_CONFIRM_GOODS, TRADE_SUCCESS, TRADE_CLOSED; plus the words the
3.0 API still documents for the ``status`` filter (TRADE_NO_CREATE_PAY, WAIT_GROUP,
TRADE_BUYER_SIGNED, TRADE_CLOSED_BY_USER), because old pushes and back-filled history carry them.

A seller's "已发货" (WAIT_BUYER_CONFIRM_GOODS) maps to ``label_printed``: the seller has a waybill,
but DESIGN.md reserves ``picked_up`` for a real carrier scan, which the carrier feed reports.
Presale and refund-in-progress refinements live in ``mapping`` (they need other fields).
"""

from __future__ import annotations

from core.states import OrderState as S
from integrations.channels.base import StatusTable

STATUSES = StatusTable(
    channel="youzan",
    table={
        "TRADE_NO_CREATE_PAY": S.PENDING_PAYMENT,
        "WAIT_BUYER_PAY": S.PENDING_PAYMENT,
        "TRADE_PAID": S.PAID,  # transient: "paid", the next status follows within seconds
        "WAIT_CONFIRM": S.PAID,  # paid, waiting for the group to form or the shop to accept
        "WAIT_GROUP": S.PAID,
        "WAIT_SELLER_SEND_GOODS": S.PAID,
        "WAIT_BUYER_CONFIRM_GOODS": S.LABEL_PRINTED,
        "TRADE_BUYER_SIGNED": S.DELIVERED,
        "TRADE_SUCCESS": S.COMPLETED,
        "TRADE_CLOSED": S.CANCELLED,  # refunded closes are told apart by refund_state
        "TRADE_CLOSED_BY_USER": S.CANCELLED,
    },
)
