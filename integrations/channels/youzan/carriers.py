"""有赞 ``express_id`` (物流公司编号) -> the company name 有赞 gives it.

A 有赞 waybill names its carrier only by this id (``delivery_order[].dists[].express_info
.express_id``); the ids are those of ``youzan.logistics.express.get`` (``allExpress[]`` of
``{id, name, display}``). The only id→name pair found in public material is the example
response quoted by a public 有赞 integration (``{"display": 1, "name": "申通快递", "id": 1}``);
ids not listed leave the waybill unregistered (logged), never guessed. The full list comes from
that API with a shop's token.
"""

from __future__ import annotations

from types import MappingProxyType

EXPRESS_COMPANIES = MappingProxyType({
    "1": "申通快递",
})  # fmt: skip
