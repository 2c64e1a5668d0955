"""微信客服 in the service: its API client and outbox sender (``add_kf``, called by ``bot.chat``
with the other platform senders: the outbox sender needs them from the start), the callback's
waker (``kf_waker``, handed to the ``/callbacks/wecom`` routes, which exist before the sync),
and the sync's lifetime (``kf_ctx``: up after the inbox, down before it).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, MutableMapping
from typing import Any

from aiohttp import web

from bot.anomaly_wiring import CLOCK, utcnow
from bot.webhooks import INBOX
from bot.wecom.kf import PLATFORM, KfEvent
from bot.wecom.kf_api import KfSender, WeComKfApi
from bot.wecom.kf_sync import KfSync, Locks
from handlers.ports import ChatSender
from storage.kf_cursors import SqlKfCursors
from storage.locks import deployment_locks

log = logging.getLogger("orderbot.wecom.kf")

KF_API = web.AppKey("wecom_kf_api", WeComKfApi)
KF_SYNC = web.AppKey("wecom_kf_sync", KfSync)


def kf_enabled(config: Any) -> bool:
    return bool(config.wecom.enabled and config.wecom.kf_enabled)


async def add_kf(app: web.Application, config: Any, senders: MutableMapping[str, ChatSender],
                 stack: contextlib.AsyncExitStack) -> None:
    """The kf API client (closed with ``stack``) and, unless a test replaced it, its sender.
    The client does not retry: the outbox retries sends, ``KfSync`` retries reads."""
    if not kf_enabled(config):
        return
    api = app[KF_API] = await stack.enter_async_context(WeComKfApi(config.wecom, attempts=1))
    senders.setdefault(PLATFORM, KfSender(api))


def kf_waker(app: web.Application) -> Callable[[KfEvent], None]:
    """What the callback route calls with a kf event: the running sync, looked up per call."""

    def wake(event: KfEvent) -> None:
        sync = app.get(KF_SYNC)
        if sync is None:
            log.warning("kf event for %s before the sync started; the start-up read covers it",
                        event.open_kfid)
            return
        sync.wake(event)

    return wake


async def kf_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the sync for the app's lifetime (appended after the inbox's ctx: it puts there)."""
    from bot.app import CONFIG, DATABASE, locks_url  # the composition root (no import cycle)

    config = app[CONFIG]
    async with contextlib.AsyncExitStack() as stack:
        locks: Locks = await deployment_locks(stack, locks_url(config),
                                              config.inbox.stream_prefix, max_connections=4)
        sync = KfSync(app[KF_API], app[INBOX], SqlKfCursors(app[DATABASE].engine), locks,
                      config.wecom, clock=app.get(CLOCK, utcnow))
        app[KF_SYNC] = sync
        sync.start()
        log.info("微信客服: answering accounts %s", ", ".join(config.wecom.kf_open_kfids))
        yield
        await sync.close()
