"""Channel intake: which configured shop a push belongs to, and raw payload -> canonical orders.

The webhook route calls ``verify`` before it queues anything (a forgery never reaches the
inbox); workers call ``parse`` (the ``ChannelParser`` port). A push that only names orders
(抖店, 微信小店) is completed here with the channel's detail API.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from core.order import Order, from_canonical
from core.payloads import CANONICAL_JSON, RawPayload
from integrations.channels import registry
from integrations.channels.base import ChannelPayloadError, ShopCredentials, WebhookRequest

# ``api.fetch_orders``: the platform's raw order documents for ids (the adapter maps them).
Fetch = Callable[[aiohttp.ClientSession, ShopCredentials, Sequence[str]],
                 Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True, slots=True)
class Shop:
    """One configured shop: API credentials plus the secret its pushes are signed with."""

    credentials: ShopCredentials
    webhook_secret: str

    @property
    def channel(self) -> str:
        return self.credentials.channel

    @property
    def shop_id(self) -> str:
        return self.credentials.shop_id


class ChannelIntake:
    def __init__(self, shops: Iterable[Shop],
                 session: Callable[[], aiohttp.ClientSession] | None = None) -> None:
        self._shops = list(shops)
        self._session = session

    def shops(self, channel: str) -> list[Shop]:
        return [shop for shop in self._shops if shop.channel == channel]

    def verify(self, channel: str, request: WebhookRequest, shop_id: str | None = None
               ) -> Shop | None:
        """The shop whose secret validates this push, or None (a forgery: answer 401)."""
        adapter = registry.get(channel)
        for shop in self.shops(channel):
            if shop_id not in (None, shop.shop_id):
                continue
            if adapter.verify_webhook(request, shop.webhook_secret):
                return shop
        return None

    async def parse(self, payload: RawPayload) -> list[Order]:
        if payload.content_type == CANONICAL_JSON:
            return [from_canonical(json.loads(line)) for line in payload.body.splitlines()
                    if line.strip()]
        adapter = registry.get(payload.channel)
        if payload.source not in ("webhook", "replay") or not payload.shop:
            return adapter.parse(payload.body)
        shop = self._shop(payload.channel, payload.shop)
        request = WebhookRequest(headers=payload.headers, query=payload.query,
                                 body=payload.body, received_at=payload.received_at)
        content = adapter.parse_push(request, shop.webhook_secret)
        if not content.order_ids:
            return list(content.orders)
        return [*content.orders, *await self._fetch(shop, content.order_ids)]

    def _shop(self, channel: str, shop_id: str) -> Shop:
        for shop in self.shops(channel):
            if shop.shop_id == shop_id:
                return shop
        raise ChannelPayloadError(f"no configured {channel} shop {shop_id!r}")

    async def _fetch(self, shop: Shop, ids: Sequence[str]) -> list[Order]:
        """The named orders via the detail API, mapped by the adapter like any payload."""
        fetch: Fetch | None = getattr(
            importlib.import_module(f"integrations.channels.{shop.channel}.api"),
            "fetch_orders", None)
        if fetch is None or self._session is None:
            raise ChannelPayloadError(
                f"{shop.channel} push names orders {list(ids)} but they cannot be fetched "
                "(no detail API client)")
        adapter = registry.get(shop.channel)
        documents = await fetch(self._session(), shop.credentials, ids)
        return [order for document in documents for order in adapter.parse(document)]
