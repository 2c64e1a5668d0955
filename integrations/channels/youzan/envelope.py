"""Where the orders are in each documented 有赞 payload shape.

* ``youzan.trades.sold.get`` 4.0: ``{"success", "code", "data": {"total_results",
  "full_order_info_list": [{"full_order_info": {...}}]}}`` (3.0 used ``"response"`` instead of
  ``"data"``; both are read).
* ``youzan.trade.get`` 4.0: ``{"success", "code", "data": {"full_order_info": {...},
  "refund_order", "delivery_order", ...}}``.
* Push message: ``{"client_id", "kdt_id", "type": "trade_TradeCreate", "status", "msg",
  "sign", ...}`` where ``msg`` is the URL-encoded JSON of the trade.get ``data`` object. A
  trade message without the trade (``trade_TradeMemoModified`` ...) names the trade in ``id``:
  ``parse`` refuses it, ``parse_push`` returns that id to fetch.
* A bare ``full_order_info`` object (or ``{"full_order_info": ...}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.order import Order
from integrations.channels import payload as r
from integrations.channels.base import ChannelPayloadError, PushContent, WebhookRequest
from integrations.channels.youzan.mapping import map_order

# Push ``type`` prefix of the trade messages, whose ``id`` is the trade's tid (有赞 消息推送 doc).
TRADE_MESSAGE = "trade_Trade"


def parse(payload: object) -> list[Order]:
    """Every order in a 有赞 payload (see the module docstring for the shapes)."""
    doc = r.obj(r.load_json(payload), "$")
    if "gw_err_resp" in doc or doc.get("success") is False:
        raise ChannelPayloadError(f"$: an error response, not orders: {_error_text(doc)}")
    if "msg" in doc and "type" in doc:
        content = _push(doc)
        if content.order_ids:
            raise ChannelPayloadError(f"$.msg: carries no trade, only tid {content.order_ids[0]}; "
                                      "fetch it with youzan.trade.get")
        return list(content.orders)
    body = doc.get("data", doc.get("response", doc))
    return _orders(r.obj(body, "$.data"), "$.data" if body is not doc else "$")


def parse_push(request: WebhookRequest, secret: str) -> PushContent:
    """The trade a verified push carries, or its ``id`` (tid) when the message has none."""
    return _push(r.obj(r.load_json(request.body), "$"))


def _push(doc: Mapping[str, Any]) -> PushContent:
    msg = r.req(doc, "msg", "$")
    if not isinstance(msg, str):
        raise ChannelPayloadError("$.msg: expected the URL-encoded trade JSON")
    inner = r.obj(r.load_json(r.unquote_plus(msg)), "$.msg")
    if "full_order_info" in inner:
        return PushContent(orders=tuple(_orders(inner, "$.msg")))
    if str(doc.get("type", "")).startswith(TRADE_MESSAGE):
        return PushContent(order_ids=(r.ident(r.req(doc, "id", "$"), "$.id"),))
    return PushContent()  # not about a trade (item, refund-only ...): nothing to store


def _orders(body: Mapping[str, Any], path: str) -> list[Order]:
    if "full_order_info_list" in body:
        items = r.arr(body["full_order_info_list"], f"{path}.full_order_info_list")
        return [_one(item, f"{path}.full_order_info_list[{i}]") for i, item in enumerate(items)]
    if "full_order_info" in body:
        return [map_order(r.obj(body["full_order_info"], f"{path}.full_order_info"),
                          f"{path}.full_order_info", delivery=body.get("delivery_order"),
                          delivery_path=f"{path}.delivery_order")]
    if "order_info" in body:
        return [map_order(body, path)]
    raise ChannelPayloadError(f"{path}: no full_order_info_list, full_order_info or order_info")


def _one(item: object, path: str) -> Order:
    wrapper = r.obj(item, path)
    info = wrapper.get("full_order_info", wrapper)
    return map_order(r.obj(info, f"{path}.full_order_info"), f"{path}.full_order_info")


def _error_text(doc: Mapping[str, Any]) -> str:
    err = doc.get("gw_err_resp") or {}
    if isinstance(err, Mapping):
        return f"{err.get('err_code')} {err.get('err_msg')}"
    return f"{doc.get('code')} {doc.get('message')}"
