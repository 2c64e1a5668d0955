"""A fake POS uploader for end-to-end tests: POSTs a CSV export signed the way README.md says."""

from __future__ import annotations

import aiohttp

from integrations.channels.pos.signing import sign_request


def signed_push(order_payload: bytes, *, secret: str = "pos-secret"
                ) -> tuple[dict[str, str], bytes]:
    """(headers, body) of an upload of ``order_payload`` (CSV bytes), signed now."""
    return {"Content-Type": "text/csv; charset=utf-8",
            **sign_request(order_payload, secret)}, order_payload


async def push(url: str, order_payload: bytes, *, secret: str = "pos-secret") -> int:
    """Upload ``order_payload`` (CSV bytes) with a fresh signature; returns the HTTP status."""
    headers, _ = signed_push(order_payload, secret=secret)
    async with aiohttp.ClientSession() as session, session.post(
            url, data=order_payload, headers=headers) as response:
        return response.status
