"""有赞 (Youzan) channel adapter: the module-level API of ``ChannelAdapter``."""

from __future__ import annotations

from integrations.channels.youzan.envelope import parse, parse_push
from integrations.channels.youzan.signing import sign_request, verify_webhook
from integrations.channels.youzan.statuses import STATUSES

name = "youzan"
statuses = STATUSES

__all__ = ["name", "parse", "parse_push", "sign_request", "statuses", "verify_webhook"]
