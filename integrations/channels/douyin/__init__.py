"""抖店 channel adapter (module-level ``ChannelAdapter`` API).

``parse`` maps order.searchList / order.orderDetail payloads, ``parse_push`` reads the ids a
message-push body names, ``verify_webhook`` checks ``event-sign``, ``sign_request`` signs API calls,
``api.fetch_since`` polls orders by update time.
"""

from __future__ import annotations

from integrations.channels.douyin.mapping import parse, parse_push
from integrations.channels.douyin.signing import sign_request, verify_webhook
from integrations.channels.douyin.statuses import statuses

name = "douyin"

__all__ = ["name", "parse", "parse_push", "sign_request", "statuses", "verify_webhook"]
