"""淘宝开放平台 (TOP) request signing and HTTP push verification.

Request signing follows the TOP document "API调用方法详解 / 签名算法": sort every parameter
except ``sign`` (and empty values) by name, concatenate ``name`` + ``value``, then

* ``sign_method=md5``: ``MD5(secret + joined + secret)``;
* ``sign_method=hmac``: ``HMAC-MD5(key=secret, joined)``;
* ``sign_method=hmac-sha256``: ``HMAC-SHA256(key=secret, joined)``;

as upper-case hex. A file-upload body is never signed (we send none).

Pushes: TOP's native order push is the TMC long connection, which needs no HTTP signature.
For HTTP we follow the 奇门 (QiMen) protocol that TOP uses for HTTP calls *to* an ISV system
(奇门接口 "附录1 签名算法"): the system parameters (``method``, ``timestamp``, ``format``,
``app_key``, ``v``, ``sign_method``, ``customerId`` ...) travel in the URL query and
``sign = MD5(secret + sorted name+value of the query parameters except sign + body + secret)``
in upper-case hex, read from ``WebhookRequest.query`` (only the 奇门 system parameter names in
``QIMEN_PARAMS`` and ``sign`` are read).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from integrations.channels.base import WebhookRequest

SIGN_METHODS = ("md5", "hmac", "hmac-sha256")
# 奇门 system parameters that can appear in a push URL; business parameters travel in the body.
QIMEN_PARAMS = ("app_key", "customerId", "format", "method", "sign_method", "timestamp", "v")


def _joined(params: Mapping[str, object]) -> str:
    return "".join(
        f"{name}{value}" for name, value in sorted(params.items())
        if name != "sign" and value is not None and value != ""
    )


def sign_request(params: Mapping[str, object], secret: str, sign_method: str = "md5") -> str:
    """The ``sign`` parameter of a TOP API call (``params`` without ``sign``)."""
    joined = _joined(params)
    if sign_method == "md5":
        digest = hashlib.md5((secret + joined + secret).encode()).hexdigest()  # noqa: S324
    elif sign_method == "hmac":
        digest = hmac.new(secret.encode(), joined.encode(), hashlib.md5).hexdigest()
    elif sign_method == "hmac-sha256":
        digest = hmac.new(secret.encode(), joined.encode(), hashlib.sha256).hexdigest()
    else:
        raise ValueError(f"unknown TOP sign_method {sign_method!r}; expected {SIGN_METHODS}")
    return digest.upper()


def sign_qimen(params: Mapping[str, object], body: bytes, secret: str) -> str:
    """奇门 sign over the query parameters and the raw body."""
    data = secret.encode() + _joined(params).encode() + body + secret.encode()
    return hashlib.md5(data).hexdigest().upper()  # noqa: S324 (the platform's algorithm)


def verify_webhook(request: WebhookRequest, secret: str) -> bool:
    """True when the push URL's query parameters carry a valid 奇门 ``sign`` over the body."""
    query = request.query
    given = query.get("sign")
    if not given or not secret:
        return False
    params = {name: query[name] for name in QIMEN_PARAMS if name in query}
    if "timestamp" not in params or "app_key" not in params:
        return False
    expected = sign_qimen(params, request.body, secret)
    return hmac.compare_digest(expected.encode(), given.strip().upper().encode())
