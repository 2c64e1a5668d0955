"""京东 ``logisticsId`` (物流公司ID) -> the company name 京东 gives it.

A JD order names its carrier only by this id (``OrderSearchInfo.logisticsId`` next to
``waybill``). Ids and names are those of JD's vendor logistics-company list (``logistics_list[]``
of ``{logistics_id, logistics_name, logistics_remark, ...}``, the companies a vendor ships
with) as captured from that API in a public JD integration (``vender_id`` 202210); where it was
found is in ``jd/SOURCES.md``. That capture is the only id->name source found: 申通, 京东,
德邦, 极兔/百世 ids are not in it, so their waybills stay unregistered (logged), never guessed.

Left out: entries that are not express carriers (1274 厂家自送, 332098 用户自提), 2094 快捷速递
(ceased) and 313214 如风达.
"""

from __future__ import annotations

from types import MappingProxyType

LOGISTICS_COMPANIES = MappingProxyType({
    "463": "圆通快递",
    "465": "邮政EMS",
    "467": "顺丰快递",
    "1327": "韵达快递",
    "1499": "中通速递",
    "1747": "优速快递",
    "2170": "邮政快递包裹",
})  # fmt: skip
