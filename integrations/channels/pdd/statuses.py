"""拼多多 order status codes -> canonical states.

Source: pdd.order.information.get / pdd.order.list.get / pdd.order.number.list.increment.get
response docs (as mirrored in the generated SDK ``lywzx/pdd-node-sdk``,
``PddOrderInformationGet.ts``). A 拼多多 order's state is spread over four documented enums:

* ``order_status`` 发货状态: 1 待发货, 2 已发货待签收, 3 已签收 -> the base state (table below);
* ``refund_status``: 1 无售后或售后关闭, 2 售后处理中, 3 退款中, 4 退款成功 -> overrides;
* ``confirm_status`` 成交状态: 0 未成交, 1 已成交, 2 已取消 -> 2 overrides to cancelled;
* ``step_order_info.step_trade_status`` (定金订单): 0 定金未付尾款未付, 1 定金已付尾款未付,
  2 定金已付尾款已付.

"已发货" means a waybill was entered; the first carrier scan comes from logistics tracking, so
it maps to ``label_printed``. 未成交 (``confirm_status`` 0) is paid but the group is not formed
yet; it stays ``paid`` (money received) and the order list APIs return it only once 成交.
"""

from __future__ import annotations

from types import MappingProxyType

from core.states import OrderState as S
from integrations.channels.base import StatusTable

ORDER_STATUS = {
    "1": S.PAID,  # 待发货
    "2": S.LABEL_PRINTED,  # 已发货待签收
    "3": S.DELIVERED,  # 已签收
}

statuses = StatusTable("pdd", MappingProxyType(ORDER_STATUS))

REFUND_STATUS: MappingProxyType[str, S | None] = MappingProxyType({
    "1": None,  # 无售后或售后关闭: no override
    "2": S.AFTER_SALE,  # 售后处理中
    "3": S.AFTER_SALE,  # 退款中
    "4": S.REFUNDED,  # 退款成功
})  # fmt: skip

CONFIRM_STATUS: MappingProxyType[str, S | None] = MappingProxyType({
    "0": None,  # 未成交 (拼团中): paid, keep the base state
    "1": None,  # 已成交
    "2": S.CANCELLED,  # 已取消
})  # fmt: skip

STEP_TRADE_STATUS: MappingProxyType[str, S | None] = MappingProxyType({
    "0": S.PENDING_PAYMENT,  # 定金未付尾款未付
    "1": S.DEPOSIT_PAID,  # 定金已付尾款未付
    "2": None,  # 定金已付尾款已付: fully paid, keep the base state
})  # fmt: skip
