"""微信小店 / 视频号小店 order ``status`` -> canonical states.

Source: the ``status`` enum of ``/channels/ec/order/get`` (微信小店 API 文档, 订单 Order 结构体):
10 待付款; 12 礼物待收下; 13 凑单买凑团中; 20 待发货（包括部分发货）; 21 部分发货;
30 待收货（包括部分发货）; 100 完成; 200 全部商品售后之后，订单取消; 250 未付款用户主动取消或超时
未付款订单自动取消. Statuses are numbers in JSON; the table keys are their decimal text.

"部分发货"/"待收货" are the seller's shipment notices, so ``label_printed`` (a carrier scan makes
``picked_up``). 200 follows a completed after-sale for every item: the money went back.
"""

from __future__ import annotations

from core.states import OrderState as S
from integrations.channels.base import StatusTable

STATUSES = StatusTable(
    channel="wechat_shop",
    table={
        "10": S.PENDING_PAYMENT,
        "12": S.PAID,  # a paid gift the receiver has not accepted yet
        "13": S.PAID,  # paid, waiting for the group purchase to fill
        "20": S.PAID,
        "21": S.LABEL_PRINTED,
        "30": S.LABEL_PRINTED,
        "100": S.COMPLETED,
        "200": S.REFUNDED,
        "250": S.CANCELLED,
    },
)
