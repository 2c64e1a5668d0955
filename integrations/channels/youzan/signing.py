"""有赞 signatures: push verification and the polling API's token.

Push (有赞云 消息推送 document, "消息签名"): the sender puts
``md5(client_id + body + client_secret)`` (hex) in the ``Event-Sign`` header, with
``Client-Id`` and ``Event-Type`` beside it. Older pushes carry no header; their body has a
``sign`` field computed as ``md5(client_id + msg + client_secret)`` over the raw (still
URL-encoded) ``msg`` string. Both are checked in constant time.

``secret`` for ``verify_webhook`` is ``"CLIENT_ID:CLIENT_SECRET"``: the app's client id is part
of the signed string, so both are needed and a push for another app never verifies.

Polling: 有赞云 APIs are called as ``POST {api_base}/api/{method}/{version}?access_token=...``
with a JSON body; the token comes from ``POST {api_base}/auth/token`` (``authorize_type``
"silent" for 自用型 apps, ``grant_id`` = the shop's kdt_id). There is no per-request signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from integrations.channels.base import ChannelPayloadError, WebhookRequest


def split_secret(secret: str) -> tuple[str, str]:
    client_id, sep, client_secret = secret.partition(":")
    if not sep or not client_id or not client_secret:
        raise ValueError("youzan webhook secret must be 'CLIENT_ID:CLIENT_SECRET'")
    return client_id, client_secret


def push_sign(client_id: str, signed: str | bytes, client_secret: str) -> str:
    """md5 hex of ``client_id + signed + client_secret``."""
    raw = signed if isinstance(signed, bytes) else signed.encode("utf-8")
    return hashlib.md5(client_id.encode() + raw + client_secret.encode()).hexdigest()  # noqa: S324


def verify_webhook(request: WebhookRequest, secret: str) -> bool:
    """True only for a push signed with our app's client id and secret."""
    client_id, client_secret = split_secret(secret)
    event_sign = request.header("event-sign")
    if event_sign is not None:
        expected = push_sign(client_id, request.body, client_secret)
        return hmac.compare_digest(expected, event_sign.strip().lower())
    return _verify_body_sign(request.body, client_id, client_secret)


def _verify_body_sign(body: bytes, client_id: str, client_secret: str) -> bool:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    if not isinstance(doc, dict):
        return False
    msg, sign = doc.get("msg"), doc.get("sign")
    if not isinstance(msg, str) or not isinstance(sign, str):
        return False
    if doc.get("client_id") not in (None, client_id):
        return False
    return hmac.compare_digest(push_sign(client_id, msg, client_secret), sign.lower())


def sign_request(access_token: str) -> dict[str, str]:
    """The query parameters that authenticate one API call (有赞云 uses the OAuth token only)."""
    if not access_token:
        raise ChannelPayloadError("youzan: an access_token is required")
    return {"access_token": access_token}


def token_request(client_id: str, client_secret: str, kdt_id: str) -> dict[str, Any]:
    """The JSON body of ``/auth/token`` for a 自用型 (silent) app."""
    return {"client_id": client_id, "client_secret": client_secret,
            "authorize_type": "silent", "grant_id": kdt_id, "refresh": False}
