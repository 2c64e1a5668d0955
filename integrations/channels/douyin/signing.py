"""抖店 request signing and message-push verification.

Request signing (抖店开放平台 "签名算法" doc and its official Go/PHP/Java samples):

1. ``param_json`` = the business parameters as JSON with keys sorted (recursively), no
   whitespace, non-ASCII and ``&<>`` left unescaped;
2. ``pattern = "app_key" + app_key + "method" + method + "param_json" + param_json +
   "timestamp" + timestamp + "v" + v``;
3. ``sign_method=md5``: ``md5(secret + pattern + secret)``;
   ``sign_method=hmac-sha256``: ``HMAC-SHA256(key=secret, secret + pattern + secret)``;
   lower-case hex.

Message push (抖店 "消息推送" doc): the platform POSTs a JSON array to our URL with headers
``app-id`` and ``event-sign``; ``event-sign = md5(app_key + raw_body + app_secret)`` in hex.
When the push declares ``sign-method: hmac-sha256`` the same string is signed with
HMAC-SHA256 keyed by the secret. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from integrations.channels.base import WebhookRequest

SIGN_METHODS = ("md5", "hmac-sha256")


def param_json(params: Mapping[str, object]) -> str:
    """The canonical ``param_json`` text that is both signed and sent."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign_request(method: str, params_json: str, app_key: str, secret: str, timestamp: str,
                 *, v: str = "2", sign_method: str = "hmac-sha256") -> str:
    """The ``sign`` query parameter of one 抖店 API call."""
    pattern = (f"app_key{app_key}method{method}param_json{params_json}"
               f"timestamp{timestamp}v{v}")
    text = (secret + pattern + secret).encode()
    if sign_method == "md5":
        return hashlib.md5(text).hexdigest()  # noqa: S324 (the platform's algorithm)
    if sign_method == "hmac-sha256":
        return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()
    raise ValueError(f"unknown 抖店 sign_method {sign_method!r}; expected {SIGN_METHODS}")


def sign_push(app_key: str, body: bytes, secret: str, sign_method: str = "md5") -> str:
    data = app_key.encode() + body + secret.encode()
    if sign_method == "hmac-sha256":
        return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()
    return hashlib.md5(data).hexdigest()  # noqa: S324 (the platform's algorithm)


def verify_webhook(request: WebhookRequest, secret: str) -> bool:
    """True when ``event-sign`` matches ``app-id`` + body + secret."""
    given, app_key = request.header("event-sign"), request.header("app-id")
    if not given or not app_key or not secret:
        return False
    method = (request.header("sign-method") or "md5").lower()
    expected = sign_push(app_key, request.body, secret, method)
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())
