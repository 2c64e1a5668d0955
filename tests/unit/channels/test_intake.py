"""``ChannelIntake.parse``: a push that only names ids is completed with the channel's detail
API, and what comes back is canonical orders (``fetch_orders`` returns the platform's raw
documents; the adapter maps them)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from core.order import Order
from core.payloads import RawPayload
from integrations.channels.base import ShopCredentials
from integrations.intake import ChannelIntake, Shop
from tests.fakes.channels import douyin as fake_douyin

DATA = Path(__file__).resolve().parents[2] / "data" / "channels"


async def test_id_only_push_is_fetched_and_mapped_to_orders() -> None:
    sample = json.loads((DATA / "douyin" / "search_list_single_line.json").read_text())
    order = copy.deepcopy(sample["data"]["shop_order_list"][0])
    order["order_id"] = "6920123456789099001"
    app = fake_douyin.make_app("k1", "secret", [order])
    headers, body = fake_douyin.signed_push(
        [fake_douyin.message("101", "m1", {"p_id": 6920123456789099001})], "k1", "secret")
    async with TestServer(app, host="127.0.0.1", port=0) as server, \
            aiohttp.ClientSession() as session:
        shop = Shop(ShopCredentials("douyin", "dy", "k1", "secret", "token",
                                    str(server.make_url("")).rstrip("/")), "secret")
        intake = ChannelIntake([shop], lambda: session)
        payload = RawPayload("douyin", "webhook", body, "application/json",
                             datetime.now(UTC), "dy", {}, headers)
        orders = await intake.parse(payload)
    assert all(isinstance(o, Order) for o in orders)
    assert [(o.channel, o.channel_order_id) for o in orders] == [
        ("douyin", "6920123456789099001")]
