"""Signed channel pushes as raw payloads, for tests that bypass HTTP (queue directly)."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from core.inbox import Envelope
from core.payloads import RawPayload, to_envelope
from handlers.process_inbox import CHANNEL_PAYLOAD
from tests.fakes.channels import youzan as fake_youzan

DATA = Path(__file__).resolve().parents[1] / "data" / "channels"
YOUZAN_ID, YOUZAN_KEY = "cid", "secret"
YOUZAN_SHOP = f"""
[[shops]]
# youzan test shop
channel = "youzan"
shop_id = "yz"
webhook_secret = "{YOUZAN_ID}:{YOUZAN_KEY}"
"""


def youzan_order(tid: str, status: str | None = None) -> dict[str, Any]:
    """The documented sample with its own id, buyer phone and creation minute (distinct buyers,
    as real traffic has; identical ones would all be cross-checked as possible duplicates)."""
    push = json.loads((DATA / "youzan" / "push_presale_deposit_paid.json").read_text())
    order = copy.deepcopy(json.loads(unquote_plus(push["msg"]))["full_order_info"])
    order["order_info"]["tid"] = tid
    n = int(hashlib.sha256(tid.encode()).hexdigest()[:12], 16)
    order["address_info"]["receiver_tel"] = f"139{n % 10**8:08d}"
    order["order_info"]["created"] = f"2026-01-04 19:{n % 60:02d}:{n // 60 % 60:02d}"
    if status:
        order["order_info"]["status"] = status
    return dict(order)


def youzan_push(order: dict[str, Any]) -> RawPayload:
    body = fake_youzan.push_body(order, client_id=YOUZAN_ID, client_secret=YOUZAN_KEY)
    sign = hashlib.md5(YOUZAN_ID.encode() + body + YOUZAN_KEY.encode()).hexdigest()
    headers = {"client-id": YOUZAN_ID, "event-type": "trade_TradePaid", "event-sign": sign}
    return RawPayload("youzan", "webhook", body, "application/json", datetime.now(UTC), "yz",
                      {}, headers)


def envelope(payload: RawPayload) -> Envelope:
    return Envelope(kind=CHANNEL_PAYLOAD, dedup_key=f"push:{payload.channel}:{payload.digest}",
                    payload=to_envelope(payload), received_at=payload.received_at)
