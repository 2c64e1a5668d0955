"""POS upload signature: our own scheme, documented in README.md.

``X-POS-Timestamp`` is unix seconds; ``X-POS-Signature`` is the hex HMAC-SHA256, keyed with the
store's secret, of ``timestamp + "." + body``. A timestamp more than ``REPLAY_WINDOW`` seconds
from now is refused, so a captured upload cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from integrations.channels.base import WebhookRequest

REPLAY_WINDOW = 300


def signature(timestamp: str, body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def sign_request(body: bytes, secret: str, now: float | None = None) -> dict[str, str]:
    """The headers a POS uploader sends with ``body``."""
    timestamp = str(int(time.time() if now is None else now))
    return {"X-POS-Timestamp": timestamp, "X-POS-Signature": signature(timestamp, body, secret)}


def verify_webhook(request: WebhookRequest, secret: str) -> bool:
    """True for an upload signed with ``secret`` less than ``REPLAY_WINDOW`` seconds before
    (or after: clock skew) the intake received it."""
    timestamp = request.header("x-pos-timestamp") or ""
    claimed = request.header("x-pos-signature") or ""
    if not timestamp.isdigit() or not claimed:
        return False
    if abs(request.received_at.timestamp() - int(timestamp)) > REPLAY_WINDOW:
        return False
    return hmac.compare_digest(signature(timestamp, request.body, secret), claimed.lower())
