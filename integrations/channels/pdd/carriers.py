"""拼多多 ``logistics_id`` (快递公司编号) -> the company name 拼多多 gives it.

An order names its carrier only by this id (``pdd.order.information.get`` ``logistics_id``,
"快递公司编号"). Ids and names are those of ``pdd.logistics.companies.get``
(``logistics_companies_get_response.logistics_companies[]`` of ``{id, code,
logistics_company, available}``) exactly as that API returned them in one captured response
(``request_id`` 15807151639054916, early 2020); where it was found is in ``pdd/SOURCES.md``.

Listed: the mainland express and 快运 companies Chinese sellers ship with. Names go through
``core.carriers.carrier`` like any other channel's; a company ``core.carriers`` cannot track yet
(安能快递, 安能快运) is listed anyway so the log names it, and it resolves the day
``core.carriers`` gains it. An id not listed (丰网 among them: it started in
2021, after the capture) leaves the waybill unregistered and logged, never guessed.
"""

from __future__ import annotations

from types import MappingProxyType

LOGISTICS_COMPANIES = MappingProxyType({
    "1": "申通快递",
    "3": "百世快递",
    "44": "顺丰快递",
    "85": "圆通快递",
    "115": "中通快递",
    "117": "优速快递",
    "118": "邮政EMS",
    "119": "天天快递",
    "120": "京东配送",
    "121": "韵达快递",
    "129": "宅急送快递",
    "131": "德邦快递",
    "132": "邮政快递包裹",
    "183": "跨越速运",
    "204": "百世快递",  # code BSKD, "available": 0 in the capture; older orders may carry it
    "208": "安能快递",
    "230": "德邦物流",
    "343": "中通快运",
    "345": "安能快运",
    "348": "壹米滴答",
    "384": "极兔快递",
})  # fmt: skip
