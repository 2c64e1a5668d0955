"""京东 POP ``orderState`` -> canonical states.

Source: ``jingdong.pop.order.search`` / ``jingdong.pop.order.get`` (JOS API documents, field
``orderState``): WAIT_SELLER_STOCK_OUT 等待出库, WAIT_GOODS_RECEIVE_CONFIRM 等待确认收货,
WAIT_SELLER_DELIVERY 等待发货 (海外购 "等待境内发货"), PAUSE / POP_ORDER_PAUSE 暂停,
FINISHED_L 完成, TRADE_CANCELED 取消, LOCKED 已锁定, WAIT_SEND_CODE 等待发码 (LOC), and for
LBP/SOPL vendors SEND_TO_DISTRIBUTION_CENER 发往配送中心 (JD's own spelling), DISTRIBUTION_CENTER_
RECEIVED 配送中心已收货, RECEIPTS_CONFIRM 收款确认（服务完成）.

Choices: "等待确认收货" is JD's "shipped" and maps to ``label_printed`` (a waybill exists; only a
carrier scan makes it ``picked_up``). The LBP/SOPL hand-over states 发往配送中心 / 配送中心已收货
are the channel's own words about the hand-over, not a carrier scan from the logistics feed, so
they stay ``label_printed`` as well (DESIGN: ``picked_up`` and later come from carrier scans).
LOCKED is JD's lock while a buyer's cancel/refund request is handled, hence ``after_sale``. A
paused order is still a paid order; the pause itself is an anomaly for the handlers, not a state.
"""

from __future__ import annotations

from core.states import OrderState as S
from integrations.channels.base import StatusTable

STATUSES = StatusTable(
    channel="jd",
    table={
        "WAIT_SELLER_STOCK_OUT": S.PAID,
        "WAIT_SELLER_DELIVERY": S.PAID,
        "WAIT_SEND_CODE": S.PAID,
        "PAUSE": S.PAID,
        "POP_ORDER_PAUSE": S.PAID,
        "WAIT_GOODS_RECEIVE_CONFIRM": S.LABEL_PRINTED,
        "SEND_TO_DISTRIBUTION_CENER": S.LABEL_PRINTED,
        "DISTRIBUTION_CENTER_RECEIVED": S.LABEL_PRINTED,
        "RECEIPTS_CONFIRM": S.COMPLETED,
        "FINISHED_L": S.COMPLETED,
        "TRADE_CANCELED": S.CANCELLED,
        "LOCKED": S.AFTER_SALE,
    },
)
