"""有赞 ``express_id`` (物流公司编号) -> the company name 有赞 gives it.

A 有赞 waybill names its carrier only by this id (``delivery_order[].dists[].express_info
.express_id``); the ids are those of ``youzan.logistics.express.get`` (``allExpress[]`` of
``{id, name, display}``). No full captured response was found (see ``youzan/SOURCES.md``):

* 1 申通快递: the example response quoted by a public 有赞 integration
  (``{"display": 1, "name": "申通快递", "id": 1}``), a platform response;
* 4 and 25: an integrator's enum of the ids it sends to ``youzan.logistics.online.confirm``
  (``out_stype``, "物流公司编号, 可以通过请求 youzan.logistics.express.get 该接口获得"):
  ``STO("1")``, ``YUNDA("4")``, ``ZJS("25")``. Its ``STO`` = 1 agrees with the response above;
  the names are kept as the enum spells them (``ZJS`` is 宅急送's code in ``core.carriers``).

Ids not listed leave the waybill unregistered (logged), never guessed. The full list comes from
that API with a shop's token.
"""

from __future__ import annotations

from types import MappingProxyType

EXPRESS_COMPANIES = MappingProxyType({
    "1": "申通快递",
    "4": "YUNDA",
    "25": "ZJS",
})  # fmt: skip
