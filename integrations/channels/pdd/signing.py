"""拼多多 POP request signing and HTTP push verification.

Request signing (拼多多开放平台 "API调用方式 / 签名规则"): take every request parameter except
``sign`` (system parameters ``type``, ``client_id``, ``access_token``, ``timestamp``,
``data_type``, ``version`` and the business parameters), sort by name, concatenate
``name`` + ``value``, wrap in the client secret and take ``MD5(secret + joined + secret)``
as upper-case hex.

Pushes: 拼多多's own message service (消息服务) is a WebSocket, which needs no HTTP signature,
and POP documents no signed HTTP push. For the HTTP intake (our own relay from the message
service, or 多多云 pushing into our endpoint) we therefore apply the same POP algorithm to the
push: headers ``client-id``, ``timestamp`` and ``sign`` where
``sign = MD5(secret + "client_id" + client_id + "data" + raw_body + "timestamp" + ts + secret)``
upper-case, i.e. the raw body is signed as the parameter ``data``. This is a documented POP
algorithm applied to a transport POP does not define; it is named here so nobody mistakes it
for a platform push contract.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from integrations.channels.base import WebhookRequest


def sign_request(params: Mapping[str, object], secret: str) -> str:
    """The ``sign`` parameter of a POP call (``params`` without ``sign``)."""
    joined = "".join(f"{name}{value}" for name, value in sorted(params.items())
                     if name != "sign" and value is not None)
    return hashlib.md5((secret + joined + secret).encode()).hexdigest().upper()  # noqa: S324


def sign_push(client_id: str, timestamp: str, body: bytes, secret: str) -> str:
    params = {"client_id": client_id, "data": body.decode("utf-8"), "timestamp": timestamp}
    return sign_request(params, secret)


def verify_webhook(request: WebhookRequest, secret: str) -> bool:
    """True when the ``sign`` header is the POP md5 over client id, timestamp and body."""
    given = request.header("sign")
    client_id, timestamp = request.header("client-id"), request.header("timestamp")
    if not (given and client_id and timestamp and secret):
        return False
    try:
        expected = sign_push(client_id, timestamp, request.body, secret)
    except UnicodeDecodeError:
        return False
    return hmac.compare_digest(expected.encode(), given.strip().upper().encode())
