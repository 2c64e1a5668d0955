"""微信小店 / 视频号小店 channel adapter: the module-level API of ``ChannelAdapter``."""

from __future__ import annotations

from integrations.channels.wechat_shop.envelope import parse, parse_push
from integrations.channels.wechat_shop.signing import decrypt_push, sign_request, verify_webhook
from integrations.channels.wechat_shop.statuses import STATUSES

name = "wechat_shop"
statuses = STATUSES

__all__ = ["decrypt_push", "name", "parse", "parse_push", "sign_request", "statuses",
           "verify_webhook"]
