"""Push a demo order through its channel's real adapter, as the intake and workers would."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.config import ShopConfig
from bot.demo import DemoConfig
from bot.demo.feeder import demo_shops
from bot.demo.generator import DemoOrder
from bot.demo.pushes import signed_push
from core.order import Order
from integrations.channels import registry
from integrations.channels.base import WebhookRequest

NOW = datetime(2026, 1, 8, 6, 30, tzinfo=UTC)
SHOPS: dict[str, ShopConfig] = {s.channel: s for s in demo_shops(DemoConfig(enabled=True))}


def as_received(order: DemoOrder, secret: str | None = None) -> tuple[WebhookRequest, str]:
    """The signed push as the intake captures it, and the secret the intake verifies with."""
    shop = SHOPS[order.channel]
    push = signed_push(order, shop, NOW)
    request = WebhookRequest(headers=push.headers, query=push.query, body=push.body,
                             received_at=NOW)
    return request, secret or shop.webhook_secret


def parse_one(order: DemoOrder) -> Order:
    """Verify with the shop's secret, then parse: exactly one canonical order comes out."""
    request, secret = as_received(order)
    adapter = registry.get(order.channel)
    assert adapter.verify_webhook(request, secret)
    content = adapter.parse_push(request, secret)
    assert not content.order_ids
    (parsed,) = content.orders
    return parsed
