"""Capture an aiohttp request as the ``WebhookRequest`` every adapter verifies and parses.

Why here and not in each intake: the signature inputs differ per platform (headers, URL query,
raw body, arrival time), so the intake captures all of them once, the same way for every channel,
and keeps the result (it is what the inbox stores before the 2xx answer).
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from integrations.channels.base import WebhookRequest


async def read_request(request: web.Request, received_at: datetime) -> WebhookRequest:
    """Headers, query and raw body of ``request``; ``received_at`` comes from the caller's clock."""
    return WebhookRequest(headers=dict(request.headers), query=dict(request.query),
                          body=await request.read(), received_at=received_at)
