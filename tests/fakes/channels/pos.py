"""A fake POS uploader for end-to-end tests: POSTs a CSV export signed the way README.md says."""

from __future__ import annotations

import aiohttp

from integrations.channels.pos.signing import sign_request


async def push(url: str, order_payload: bytes, *, secret: str = "pos-secret") -> int:
    """Upload ``order_payload`` (CSV bytes) with a fresh signature; returns the HTTP status."""
    headers = {"Content-Type": "text/csv; charset=utf-8", **sign_request(order_payload, secret)}
    async with aiohttp.ClientSession() as session, session.post(
            url, data=order_payload, headers=headers) as response:
        return response.status
