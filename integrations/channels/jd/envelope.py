"""Where the orders are in each documented 京东 payload shape.

* ``jingdong.pop.order.search``: ``{"jingdong_pop_order_search_responce": {"code": "0",
  "searchorderinfo_result": {"apiResult": {...}, "orderInfoList": [...], "orderTotal": n}}}``
  (``responce`` is JOS's own spelling).
* ``jingdong.pop.order.get``: ``{"jingdong_pop_order_get_responce": {"code": "0",
  "orderDetailInfo": {"apiResult": {...}, "orderInfo": {...}}}}``.
* A push (see ``signing``): form fields with ``jd_param_json`` holding an order object, or only
  ``{"orderId": ...}``: then ``parse`` refuses it and ``parse_push`` gives the id to fetch with
  ``jingdong.pop.order.get`` (``api.fetch_orders``).
* A bare order object (``{"orderId", "orderState", ...}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from core.order import Order
from integrations.channels import payload as r
from integrations.channels.base import ChannelPayloadError, PushContent, WebhookRequest
from integrations.channels.jd.mapping import map_order

SEARCH = "jingdong_pop_order_search_responce"
GET = "jingdong_pop_order_get_responce"


def parse(payload: object) -> list[Order]:
    """Every order in a 京东 payload (see the module docstring for the shapes)."""
    doc = r.obj(_load(payload), "$")
    if "error_response" in doc:
        err = r.obj(doc["error_response"], "$.error_response")
        raise ChannelPayloadError(f"$: an error response, not orders: {err.get('code')} "
                                  f"{err.get('zh_desc') or err.get('en_desc')}")
    if SEARCH in doc:
        return _search(r.obj(doc[SEARCH], f"$.{SEARCH}"), f"$.{SEARCH}")
    if GET in doc:
        return _get(r.obj(doc[GET], f"$.{GET}"), f"$.{GET}")
    if "jd_param_json" in doc:
        return _full_orders(_push(doc["jd_param_json"]), "$.jd_param_json")
    return [map_order(doc, "$")]


def parse_push(request: WebhookRequest, secret: str) -> PushContent:
    """The order a verified push carries, or its id when the push names only ``orderId``."""
    doc = r.obj(_load(request.body), "$")
    return _push(r.req(doc, "jd_param_json", "$"))


def _full_orders(content: PushContent, path: str) -> list[Order]:
    if content.order_ids:
        raise ChannelPayloadError(f"{path}: carries only order id {content.order_ids[0]}; "
                                  "fetch it with jingdong.pop.order.get")
    return list(content.orders)


def _load(payload: object) -> Any:
    """JSON, or the form-encoded body a JOS-style push arrives as."""
    payload = r.decode(payload)
    if isinstance(payload, str) and not payload.lstrip().startswith(("{", "[")):
        return dict(parse_qsl(payload, keep_blank_values=True))
    return r.load_json(payload)


def _search(body: Mapping[str, Any], path: str) -> list[Order]:
    result = r.obj(r.req(body, "searchorderinfo_result", path), f"{path}.searchorderinfo_result")
    where = f"{path}.searchorderinfo_result"
    _check_api_result(result, where)
    items = r.arr(result.get("orderInfoList") or [], f"{where}.orderInfoList")
    return [map_order(r.obj(o, f"{where}.orderInfoList[{i}]"), f"{where}.orderInfoList[{i}]")
            for i, o in enumerate(items)]


def _get(body: Mapping[str, Any], path: str) -> list[Order]:
    detail = r.obj(r.req(body, "orderDetailInfo", path), f"{path}.orderDetailInfo")
    where = f"{path}.orderDetailInfo"
    _check_api_result(detail, where)
    return [map_order(r.obj(r.req(detail, "orderInfo", where), f"{where}.orderInfo"),
                      f"{where}.orderInfo")]


def _check_api_result(body: Mapping[str, Any], path: str) -> None:
    api = body.get("apiResult")
    if isinstance(api, Mapping) and api.get("success") is False:
        raise ChannelPayloadError(f"{path}.apiResult: {api.get('numberCode')} "
                                  f"{api.get('chineseErrCode')}")


def _push(value: object) -> PushContent:
    path = "$.jd_param_json"
    inner = r.obj(r.load_json(value) if isinstance(value, str) else value, path)
    if "orderState" not in inner:  # an id-only notice
        return PushContent(order_ids=(r.ident(r.req(inner, "orderId", path), f"{path}.orderId"),))
    return PushContent(orders=(map_order(inner, path),))
