"""``POST /webhooks/{channel}[/{shop}]``: verify, queue, acknowledge. Nothing else.

A forged or unsigned push gets 401 and is not queued. A verified push is put on the inbox
(dedup on its body's digest: a platform retrying the same push is queued once) and answered
2xx only after ``put`` returned, i.e. once it is durable. Parsing happens in the workers, so
a malformed push is acknowledged and then dead-lettered with its reason, never lost.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web

from core.inbox import Envelope
from core.payloads import RawPayload, to_envelope
from handlers.ports import Inbox
from handlers.process_inbox import CHANNEL_PAYLOAD
from integrations.channels import registry
from integrations.channels.base import WebhookRequest
from integrations.intake import ChannelIntake

log = logging.getLogger("orderbot.webhooks")

INBOX = web.AppKey("inbox", Inbox)
INTAKE = web.AppKey("intake", ChannelIntake)

_DROPPED_HEADERS = {"cookie", "authorization", "proxy-authorization"}
# What each platform expects as the body of a successful push response.
_ACK_BODIES = {"wechat_shop": "success"}


async def receive_webhook(request: web.Request) -> web.Response:
    channel = request.match_info["channel"]
    if channel not in registry.names():
        raise web.HTTPNotFound(text=f"unknown channel {channel!r}")
    now = datetime.now(UTC)
    body = await request.read()
    headers = {k.lower(): v for k, v in request.headers.items()
               if k.lower() not in _DROPPED_HEADERS}
    query = dict(request.query)
    pushed = WebhookRequest(headers=headers, query=query, body=body, received_at=now)
    shop = request.app[INTAKE].verify(channel, pushed, request.match_info.get("shop"))
    if shop is None:
        log.warning("rejected %s webhook: signature does not verify", channel)
        raise web.HTTPUnauthorized(text="signature does not verify")
    payload = RawPayload(channel, "webhook", body, request.content_type, now, shop.shop_id,
                         query, headers)
    envelope = Envelope(kind=CHANNEL_PAYLOAD, dedup_key=f"push:{channel}:{payload.digest}",
                        payload=to_envelope(payload), received_at=now)
    if not await request.app[INBOX].put(envelope):
        log.info("duplicate %s push %s", channel, payload.digest[:12])
    if channel in _ACK_BODIES:
        return web.Response(text=_ACK_BODIES[channel])
    return web.json_response({"code": 0, "msg": "success"})


def routes() -> list[web.RouteDef]:
    return [web.post("/webhooks/{channel}", receive_webhook),
            web.post("/webhooks/{channel}/{shop}", receive_webhook)]
