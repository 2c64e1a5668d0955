"""抖店 order status codes -> canonical states.

Source: 抖店开放平台 order.searchList / order.orderDetail, field ``order_status`` of the shop
order ("1 待确认/待支付-订单创建完毕; 105 已支付; 2 备货中; 101 部分发货; 3 已发货(全部发货);
4 已取消; 5 已完成(已收货)"), as mirrored in the generated SDK model
``order_searchList_response.ShopOrderListItem`` (zsmhub/doudian-sdk). Codes arrive as JSON
integers; the table is keyed by their decimal text.

"已发货" means the seller entered a waybill; the first carrier scan comes from logistics
tracking, so shipped maps to ``label_printed`` (DESIGN: a packed parcel is not "shipped").
"""

from __future__ import annotations

from types import MappingProxyType

from core.states import OrderState as S
from integrations.channels.base import StatusTable

ORDER_STATUS = {
    "1": S.PENDING_PAYMENT,  # 待确认/待支付 (订单创建完毕)
    "105": S.PAID,  # 已支付
    "2": S.PAID,  # 备货中 (paid, the seller has not shipped)
    "101": S.LABEL_PRINTED,  # 部分发货
    "3": S.LABEL_PRINTED,  # 已发货 (全部发货)
    "4": S.CANCELLED,  # 已取消
    "5": S.COMPLETED,  # 已完成 (已收货)
}

statuses = StatusTable("douyin", MappingProxyType(ORDER_STATUS))

# sku_order_list[].after_sale_info.after_sale_status (same document). True = an after-sale case
# is open, so a paid order is in after-sale; False = none open (or finished: the order status
# and the refund messages carry the outcome).
AFTER_SALE_OPEN = MappingProxyType({
    "0": False,  # 售后初始化
    "6": True,  # 售后申请
    "7": True,  # 售后退货中
    "27": False,  # 拒绝售后申请
    "12": False,  # 售后成功
    "28": False,  # 售后失败
    "11": True,  # 售后已发货
    "29": False,  # 退货后拒绝退款
    "13": True,  # 售后换货商家发货
    "14": False,  # 售后换货用户收货
    "51": False,  # 取消成功
    "53": False,  # 逆向交易完成
})  # fmt: skip

PRESALE_TRADE_TYPE = 2

# Shop order ``main_status`` (same document: "21 发货前退款完结, 22 发货后退款完结, 39 收货后退款
# 完结"; its other values repeat order_status, plus 103 部分支付 which order_status reports as 1).
# ``order_status`` says only 4 已取消 for these; main_status tells a refunded close from a cancel.
REFUNDED_MAIN_STATUS = frozenset({"21", "22", "39"})  # sku_order_list[].trade_type: 2 = 定金预售
