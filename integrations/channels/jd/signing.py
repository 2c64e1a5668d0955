"""京东 JOS signatures: the polling API's request sign and HTTP push verification.

Request sign (JOS 开发者指南 "签名算法", https://open.jd.com/v2/#/doc/dev-guide?listId=2643):
sort every request parameter except ``sign`` by name, concatenate ``name + value``, wrap the
result in the app secret on both sides, MD5, upper-case hex. ``360buy_param_json`` (the business
parameters as one JSON string) and ``access_token`` take part; the published worked example is
reproduced in the unit tests (expected ``D70825340F4084360B9362B60DFD7930``).

Push: JD POP's order messages are delivered by the JOS 消息服务 (JMQ/云鼎 subscription), which has
no HTTP signature of its own. The HTTP push JD documents for sellers is the 京东到家 消息接口
(https://opendj.jd.com/staticnew/widgets/doc/MQVenderChannel.html): a form-encoded POST of the
system parameters (``app_key``, ``token``, ``timestamp``, ``format``, ``v``, ``jd_param_json``)
signed "严格按照开放平台签名规则", i.e. the same sign as above over every field but ``sign``. We
verify exactly that, so a 云鼎 relay (or 到家) can forward POP messages in that form.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl

from integrations.channels.base import WebhookRequest


def sign(params: Mapping[str, str], secret: str) -> str:
    """upper(md5(secret + k1v1k2v2... + secret)) over the parameters sorted by name."""
    joined = "".join(f"{k}{v}" for k, v in sorted(params.items())
                     if k != "sign" and v is not None)
    digest = hashlib.md5(f"{secret}{joined}{secret}".encode())  # noqa: S324 (JOS protocol)
    return digest.hexdigest().upper()


def sign_request(params: Mapping[str, str], secret: str) -> dict[str, str]:
    """``params`` plus their ``sign``: ready to send as the form of ``/routerjson``."""
    signed = {k: v for k, v in params.items() if v is not None}
    signed["sign"] = sign(signed, secret)
    return signed


def verify_webhook(request: WebhookRequest, secret: str) -> bool:
    """True when the form-encoded push carries the JOS sign of its own fields."""
    try:
        fields = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True,
                                strict_parsing=True))
    except (UnicodeDecodeError, ValueError):
        return False
    claimed = fields.get("sign")
    if not claimed or "app_key" not in fields:
        return False
    return hmac.compare_digest(sign(fields, secret), claimed.upper())
