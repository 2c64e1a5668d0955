"""京东 ``logisticsId`` (物流公司ID) -> the company name 京东 gives it.

A JD order names its carrier only by this id (``OrderSearchInfo.logisticsId`` next to
``waybill``). Ids and names are those of JD's vendor logistics-company list (``logistics_list[]``
of ``{logistics_id, logistics_name, ...}``, the list a vendor ships with), as captured from that
API in a public JD integration (vender 202210). Entries that are not express carriers (厂家自送,
用户自提) and companies ``core.carriers`` cannot track are left out: their waybills stay
unregistered (logged), never guessed.
"""

from __future__ import annotations

from types import MappingProxyType

LOGISTICS_COMPANIES = MappingProxyType({
    "463": "圆通快递",
    "465": "邮政EMS",
    "467": "顺丰快递",
    "1327": "韵达快递",
    "1499": "中通速递",
    "2170": "邮政快递包裹",
})  # fmt: skip
