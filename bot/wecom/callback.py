"""The self-built app's callback endpoint ``GET/POST /callbacks/wecom`` as aiohttp routes.

``make_wecom_routes`` returns route definitions so that the composition root mounts them in the
real app and an e2e test mounts them in a bare one. A POST is verified (signature, timestamp
window, receiveid), parsed, put on the inbox with its dedup key and answered at once: WeCom
retries after 5 s, so nothing else happens before the answer (DESIGN.md, "The way a message
travels"). Refusals are typed and answered with 4xx, never a bare 500:
401 bad signature or stale timestamp, 403 wrong receiveid, 400 malformed, 503 inbox down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

from bot.model import CardAction, card_action_envelope, inbound_envelope
from bot.wecom.crypto import (
    WeComCrypto,
    WeComCryptoError,
    WeComReceiverError,
    WeComSignatureError,
)
from bot.wecom.kf import KfEvent, kf_event
from bot.wecom.messages import Parsed, parse_callback
from bot.wecom.settings import WeComSettings
from handlers.ports import Envelope, Inbox

log = logging.getLogger("orderbot.wecom")

CALLBACK_PATH = "/callbacks/wecom"
MAX_BODY = 64 * 1024
_QUERY = ("msg_signature", "timestamp", "nonce")


def make_wecom_routes(settings: WeComSettings, inbox: Inbox, *, path: str = CALLBACK_PATH,
                      clock: Callable[[], float] = time.time,
                      on_kf_event: Callable[[KfEvent], None] | None = None
                      ) -> list[web.RouteDef]:
    """GET (URL verification) and POST (encrypted messages) handlers for one self-built app.
    ``on_kf_event`` wakes the 微信客服 sync (``bot/wecom/kf_sync``) on ``kf_msg_or_event``."""
    crypto = WeComCrypto(settings.token, settings.encoding_aes_key, settings.receive_id,
                         settings.max_clock_skew_s)

    async def verify_url(request: web.Request) -> web.Response:
        try:
            signature, timestamp, nonce = _query(request)
            echostr = _echostr(request)
            echo = crypto.verify_url(signature, timestamp, nonce, echostr, now=clock())
        except WeComCryptoError as error:
            return _refuse(request, error)
        return web.Response(text=echo, content_type="text/plain")

    async def receive(request: web.Request) -> web.Response:
        try:
            signature, timestamp, nonce = _query(request)
            body = await _body(request)
            plain = crypto.decrypt_body(signature, timestamp, nonce, body, now=clock())
            kf = kf_event(plain) if on_kf_event is not None else None
            parsed = parse_callback(plain) if kf is None else None
        except WeComCryptoError as error:
            return _refuse(request, error)
        except ValueError as error:  # a field that is not what WeCom documents
            return _refuse(request, _Malformed(str(error)))
        if kf is not None and on_kf_event is not None:
            on_kf_event(kf)  # the messages are read after this answer (WeCom waits 5 s)
        if parsed is not None:
            return await _enqueue(inbox, _envelope(parsed, clock()))
        return web.Response(text="success")

    return [web.get(path, verify_url), web.post(path, receive)]


class _Malformed(WeComCryptoError):
    """The request is not a WeCom callback at all (missing query, oversized body ...)."""


def _query(request: web.Request) -> tuple[str, str, str]:
    values = tuple(request.query.get(name, "") for name in _QUERY)
    if not all(values):
        raise _Malformed("missing msg_signature/timestamp/nonce")
    return values[0], values[1], values[2]


def _echostr(request: web.Request) -> str:
    """echostr, URL-decoded once; a raw '+' that became ' ' is put back (base64 has no space)."""
    echostr = request.query.get("echostr", "")
    if not echostr:
        raise _Malformed("missing echostr")
    return echostr.replace(" ", "+")


async def _body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _Malformed("body too large")
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise _Malformed("body too large")
    return body


def _envelope(parsed: Parsed, now: float) -> Envelope:
    received = datetime.fromtimestamp(now, UTC)
    if isinstance(parsed.item, CardAction):
        return card_action_envelope(parsed.item, parsed.dedup_key, received)
    return inbound_envelope(parsed.item, parsed.dedup_key, received)


async def _enqueue(inbox: Inbox, envelope: Envelope) -> web.Response:
    try:
        queued = await inbox.put(envelope)
    except Exception:
        log.exception("WeCom callback %s not queued; answering 503 so WeCom retries",
                      envelope.dedup_key)
        return web.Response(status=503, text="busy")
    log.info("WeCom %s %s (%s)", envelope.kind, envelope.dedup_key,
             "queued" if queued else "duplicate")
    return web.Response(text="success")


def _refuse(request: web.Request, error: WeComCryptoError) -> web.Response:
    status = 400
    if isinstance(error, WeComSignatureError):
        status = 401
    elif isinstance(error, WeComReceiverError):
        status = 403
    log.warning("WeCom callback refused (%d %s) from %s: %s", status, type(error).__name__,
                request.remote, error)
    return web.Response(status=status, text=type(error).__name__)
