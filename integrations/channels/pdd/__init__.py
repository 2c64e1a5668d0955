"""拼多多 channel adapter (module-level ``ChannelAdapter`` API).

``parse`` maps POP order payloads, ``verify_webhook`` checks POP-signed HTTP pushes,
``sign_request`` signs POP calls, ``api.fetch_since`` polls orders by update time.
"""

from __future__ import annotations

from integrations.channels.pdd.mapping import parse, parse_push
from integrations.channels.pdd.signing import sign_request, verify_webhook
from integrations.channels.pdd.statuses import statuses

name = "pdd"

__all__ = ["name", "parse", "parse_push", "sign_request", "statuses", "verify_webhook"]
