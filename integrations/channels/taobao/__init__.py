"""淘宝/天猫 channel adapter (module-level ``ChannelAdapter`` API).

``parse`` maps TOP trade payloads, ``verify_webhook`` checks 奇门-signed HTTP pushes,
``sign_request`` signs TOP API calls, ``api.fetch_since`` polls trades by modified time.
"""

from __future__ import annotations

from integrations.channels.taobao.mapping import parse, parse_push
from integrations.channels.taobao.signing import sign_request, verify_webhook
from integrations.channels.taobao.statuses import statuses

name = "taobao"

__all__ = ["name", "parse", "parse_push", "sign_request", "statuses", "verify_webhook"]
