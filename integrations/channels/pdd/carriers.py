"""拼多多 ``logistics_id`` (快递公司编号) -> the company name 拼多多 gives it.

An order names its carrier only by this id (``pdd.order.information.get`` ``logistics_id``,
"快递公司编号"); ids and names are those of ``pdd.logistics.companies.get``
(``logistics_companies_get_response.logistics_companies[]`` of ``{id, code,
logistics_company}``), as returned by that API in a response captured by a public ERP
integration. Only the mainland express companies ``core.carriers`` can track are listed; the
names go through ``core.carriers.carrier`` like any other channel's. An id not listed here
leaves the waybill unregistered (logged), never guessed.
"""

from __future__ import annotations

from types import MappingProxyType

LOGISTICS_COMPANIES = MappingProxyType({
    "1": "申通快递",
    "3": "百世快递",
    "44": "顺丰快递",
    "85": "圆通快递",
    "115": "中通快递",
    "118": "邮政EMS",
    "120": "京东配送",
    "121": "韵达快递",
    "131": "德邦快递",
    "132": "邮政快递包裹",
    "384": "极兔快递",
})  # fmt: skip
