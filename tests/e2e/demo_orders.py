"""Demo orders as their platforms push them to the real webhooks (signed for the demo shops),
and the demo's substitutes for the health checks' B cards: the traffic of the e2e tests that
drive the health checks through pushes."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import aiohttp

from bot.demo import DemoConfig
from bot.demo.data import SUBSTITUTES
from bot.demo.feeder import demo_shops
from bot.demo.generator import DemoOrder, OrderGenerator, Variant
from bot.demo.pushes import signed_push
from bot.routing_config import SubstituteConfig

SHOPS = {shop.channel: shop for shop in demo_shops(DemoConfig(enabled=True))}
DEMO_SUBSTITUTES = tuple(SubstituteConfig(sku, alternatives)
                         for sku, alternatives in SUBSTITUTES.items())


def made(channel: str, variant: Variant, seed: int = 5) -> DemoOrder:
    """The same demo order on every run (a fixed seed), created now."""
    return OrderGenerator(random.Random(seed)).order(channel, datetime.now(UTC), variant)


async def push(http: aiohttp.ClientSession, base: str, order: DemoOrder,
               now: datetime | None = None) -> int:
    """``order`` signed as its platform signs it (at ``now``), POSTed to its demo shop's webhook
    at ``base``; the HTTP status."""
    shop = SHOPS[order.channel]
    signed = signed_push(order, shop, now or datetime.now(UTC))
    async with http.post(f"{base}/webhooks/{order.channel}/{shop.shop_id}", data=signed.body,
                         headers=dict(signed.headers), params=dict(signed.query)) as response:
        return response.status
