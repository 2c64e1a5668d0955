"""The WeCom smart robot in the service: its link, its outbox sender and its lifetime.

``bot.chat`` creates the link with the other chat resources (``add_robot``: the outbox sender
needs its ``ChatSender`` from the start) and appends ``robot_ctx`` to the app's
``cleanup_ctx``, like the DingTalk stream client: up after the inbox, down before it.

WeCom keeps one live connection per robot, and a new one kicks the old. Embedded mode is one
process, so the link simply runs. With Redis (``[inbox] backend = "redis"``, several
processes) only the holder of the lock ``<stream_prefix>:lock:wecom_bot:<bot_id>`` connects
(``bot.leader``); the others stand by, and their outbox senders leave this platform's rows to
the leader (``OutboxSender.set_available``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from aiohttp import web

from bot.leader import lead
from bot.outbox_sender import OutboxSender
from bot.wecom.aibot_frames import PLATFORM
from bot.wecom.aibot_sender import WeComBotSender
from bot.wecom.longconn import LongConnection
from handlers.ports import ChatSender, Inbox
from storage.locks import deployment_locks

log = logging.getLogger("orderbot.wecom.bot")

WECOM_BOT = web.AppKey("wecom_bot", LongConnection)


def add_robot(app: web.Application, config: Any, inbox: Inbox,
              senders: MutableMapping[str, ChatSender]) -> LongConnection | None:
    """The robot's link and sender when ``[wecom_bot]`` is enabled (and no test replaced it)."""
    if not config.wecom_bot.enabled or PLATFORM in senders:
        return None
    link = app[WECOM_BOT] = LongConnection(config.wecom_bot, inbox)
    senders[PLATFORM] = WeComBotSender(link, config.wecom_bot)
    return link


def connect_outbox(link: LongConnection | None, outbox: OutboxSender) -> None:
    """The outbox hands robot rows to this process only while its link is up."""
    if link is None:
        return
    outbox.set_available(PLATFORM, False)
    link.on_ready = lambda up: outbox.set_available(PLATFORM, up)


async def robot_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the link for the app's lifetime (as the leader when several processes share Redis)."""
    from bot.app import CONFIG, locks_url  # the composition root (no import cycle)

    config, link = app[CONFIG], app.get(WECOM_BOT)
    if link is None:
        yield
        return
    async with contextlib.AsyncExitStack() as stack:
        if (url := locks_url(config)) is not None:
            locks = await deployment_locks(stack, url, config.inbox.stream_prefix,
                                           max_connections=4)
            lock = locks.lock(f"wecom_bot:{config.wecom_bot.bot_id}",
                              int(config.wecom_bot.leader_ttl_s * 1000))
            task = asyncio.create_task(lead(lock, _term(link), link.stop, name="WeCom bot"),
                                       name="wecom-bot-leader")
            yield
            task.cancel()  # lead() stops the link (it drains to the inbox), releases the lock
        else:
            task = asyncio.create_task(link.run(), name="wecom-bot")
            yield
            await link.stop()
        await asyncio.gather(task, return_exceptions=True)


def _term(link: LongConnection) -> Callable[[], Awaitable[None]]:
    """One leadership term: the link runs afresh even if an earlier term stopped it."""

    async def run() -> None:
        link.rearm()
        await link.run()

    return run
