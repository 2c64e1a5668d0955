"""淘宝/天猫 trade status words -> canonical states.

Source: TOP ``Trade`` data structure, field ``status`` (as returned by taobao.trades.sold.get,
taobao.trades.sold.increment.get and taobao.trade.fullinfo.get; the same enum is mirrored in the
generated TOP SDK model ``Trade.Status``). The query-only aggregates ``ALL_WAIT_PAY`` /
``ALL_CLOSED`` are filter values of the list APIs, never a trade's status, so they are absent.

"Shipped" on 淘宝 (``WAIT_BUYER_CONFIRM_GOODS``) means the seller uploaded a waybill number; it
says nothing about a carrier scan, so it maps to ``label_printed``. ``picked_up`` and later come
from logistics tracking, never from the channel (DESIGN: a packed parcel is not "shipped").
"""

from __future__ import annotations

from types import MappingProxyType

from core.states import OrderState as S
from integrations.channels.base import StatusTable

TRADE_STATUS = {
    "TRADE_NO_CREATE_PAY": S.PENDING_PAYMENT,  # 没有创建支付宝交易
    "WAIT_BUYER_PAY": S.PENDING_PAYMENT,  # 等待买家付款 (also: presale deposit paid, balance due)
    "PAY_PENDING": S.PENDING_PAYMENT,  # 国际信用卡支付付款确认中 (payment not confirmed yet)
    "WAIT_PRE_AUTH_CONFIRM": S.PENDING_PAYMENT,  # 0元购合约中 (no money received)
    "PAID_FORBID_CONSIGN": S.PAID,  # 拼团中/发货强管控: paid, shipping not allowed yet
    "WAIT_SELLER_SEND_GOODS": S.PAID,  # 等待卖家发货, 即买家已付款
    "SELLER_CONSIGNED_PART": S.LABEL_PRINTED,  # 卖家部分发货
    "WAIT_BUYER_CONFIRM_GOODS": S.LABEL_PRINTED,  # 等待买家确认收货, 即卖家已发货
    "TRADE_BUYER_SIGNED": S.DELIVERED,  # 买家已签收 (货到付款专用)
    "TRADE_FINISHED": S.COMPLETED,  # 交易成功
    "TRADE_CLOSED": S.REFUNDED,  # 付款以后用户退款成功, 交易自动关闭
    "TRADE_CLOSED_BY_TAOBAO": S.CANCELLED,  # 付款以前, 卖家或买家主动关闭交易
}

statuses = StatusTable("taobao", MappingProxyType(TRADE_STATUS))

# Order.refund_status (子订单退款状态), same TOP ``Order`` structure. True = a refund is being
# worked on, so the order is in after-sale; False = no refund activity that changes the state.
# A refund that succeeded closes the trade (TRADE_CLOSED) or the line; the trade status says so.
REFUND_IN_PROGRESS = MappingProxyType({
    "NO_REFUND": False,  # 没有退款
    "WAIT_SELLER_AGREE": True,  # 买家已经申请退款, 等待卖家同意
    "WAIT_BUYER_RETURN_GOODS": True,  # 卖家已经同意退款, 等待买家退货
    "WAIT_SELLER_CONFIRM_GOODS": True,  # 买家已经退货, 等待卖家确认收货
    "SELLER_REFUSE_BUYER": False,  # 卖家拒绝退款
    "CLOSED": False,  # 退款关闭
    "SUCCESS": False,  # 退款成功 (the trade/line status carries the outcome)
})  # fmt: skip

# Trade.step_trade_status (分阶段付款/预售): deposit ("front") and balance ("final").
STEP_STATUSES = frozenset({
    "FRONT_NOPAID_FINAL_NOPAID",  # 定金未付尾款未付
    "FRONT_PAID_FINAL_NOPAID",  # 定金已付尾款未付
    "FRONT_PAID_FINAL_PAID",  # 定金和尾款都付
    "FRONT_PAID_FRONT_FORFEITED",  # 预售定金罚没 (trade is closed; status says cancelled)
})  # fmt: skip
DEPOSIT_PAID_STEP = "FRONT_PAID_FINAL_NOPAID"
