"""Offline POS channel: CSV receipt exports (format in README.md), HMAC-signed uploads."""

from __future__ import annotations

from integrations.channels.pos.mapping import parse_csv as parse
from integrations.channels.pos.mapping import parse_push
from integrations.channels.pos.signing import sign_request, verify_webhook
from integrations.channels.pos.statuses import STATUSES

name = "pos"
statuses = STATUSES

__all__ = ["name", "parse", "parse_push", "sign_request", "statuses", "verify_webhook"]
