"""Where the orders are in each documented 微信小店 payload shape.

* ``/channels/ec/order/get``: ``{"errcode": 0, "errmsg": "ok", "order": {...}}``.
* ``/channels/ec/order/list/get``: ``{"errcode": 0, "order_id_list": [...], "next_key",
  "has_more"}`` -- ids only, so ``parse`` refuses it with the ids in the reason.
* An order push (``{"Encrypt": ...}``, decrypted by ``parse_push`` with the secret into
  ``{"Event": "channels_ec_order_*", "order_info": {"order_id"}}``): ids only as well, so
  ``parse_push`` returns them to fetch with ``/channels/ec/order/get`` (``api.fetch_orders``).
* A bare ``order`` object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.order import Order
from integrations.channels import payload as r
from integrations.channels.base import ChannelPayloadError, PushContent, WebhookRequest
from integrations.channels.wechat_shop.mapping import map_order
from integrations.channels.wechat_shop.signing import decrypt, split_secret


def parse(payload: object) -> list[Order]:
    """Every order in a 微信小店 payload (see the module docstring for the shapes)."""
    doc = _document(payload)
    if "order" in doc:
        return [map_order(r.obj(doc["order"], "$.order"), "$.order")]
    if "order_id_list" in doc or "Event" in doc:
        raise ChannelPayloadError(f"$: carries only order ids ({', '.join(order_ids(doc))}); "
                                  "fetch them with /channels/ec/order/get")
    return [map_order(doc, "$")]


def parse_push(request: WebhookRequest, secret: str) -> PushContent:
    """The order ids a verified push names; an encrypted body is decrypted with ``secret``."""
    doc = r.obj(r.load_json(request.body), "$")
    cipher = doc.get("Encrypt")
    if isinstance(cipher, str):
        doc = r.obj(r.load_json(decrypt(cipher, split_secret(secret)[1])[0]), "$.Encrypt")
    return PushContent(order_ids=tuple(order_ids(doc)))


def order_ids(payload: object) -> list[str]:
    """The order ids a list response or an order push names (exact, as strings)."""
    doc = _document(payload)
    if "order_id_list" in doc:
        ids = r.arr(doc["order_id_list"], "$.order_id_list")
        return [r.ident(v, f"$.order_id_list[{i}]") for i, v in enumerate(ids)]
    info = doc.get("order_info")
    if isinstance(info, Mapping) and "order_id" in info:
        return [r.ident(info["order_id"], "$.order_info.order_id")]
    if "order" in doc:
        return [r.ident(r.obj(doc["order"], "$.order").get("order_id"), "$.order.order_id")]
    return []


def _document(payload: object) -> Mapping[str, Any]:
    doc = r.obj(r.load_json(payload), "$")
    if "Encrypt" in doc:
        raise ChannelPayloadError("$.Encrypt: an encrypted push; decrypt it first")
    code = doc.get("errcode", 0)
    if code not in (0, None):
        raise ChannelPayloadError(f"$: an error response, not orders: {code} "
                                  f"{doc.get('errmsg')}")
    return doc
