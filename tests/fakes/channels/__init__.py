"""Fake channel platforms. ``webhook_request`` builds what our intake captures from a push."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from integrations.channels.base import WebhookRequest

RECEIVED_AT = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)


def webhook_request(body: bytes, *, headers: Mapping[str, str] | None = None,
                    query: Mapping[str, str] | None = None,
                    received_at: datetime = RECEIVED_AT) -> WebhookRequest:
    """A push as the intake would capture it (headers, URL query, raw body, arrival time)."""
    return WebhookRequest(headers=dict(headers or {}), query=dict(query or {}), body=body,
                          received_at=received_at)
