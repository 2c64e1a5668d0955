"""京东 POP (JD) channel adapter: the module-level API of ``ChannelAdapter``."""

from __future__ import annotations

from integrations.channels.jd.envelope import parse, parse_push
from integrations.channels.jd.signing import sign_request, verify_webhook
from integrations.channels.jd.statuses import STATUSES

name = "jd"
statuses = STATUSES

__all__ = ["name", "parse", "parse_push", "sign_request", "statuses", "verify_webhook"]
