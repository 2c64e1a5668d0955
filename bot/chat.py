"""Chat wiring for the composition root: ``install_chat(app)`` adds the web chat routes and the
long-lived chat resources (staff directory, web chat hub, platform senders, outbox sender),
and the inbound side of every enabled platform: WeCom's callback routes (``/callbacks/wecom``),
the DingTalk stream client and the WeCom smart robot's long connection (each a ``cleanup_ctx``
of its own).

``bot/app.py`` calls it once in ``build_app``; the inbox workers then get ``app[CHAT]`` as
``InboxDeps.chat`` so ``receive_text`` / ``click_card`` envelopes reach their handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any

from aiohttp import web

from bot.anomaly_wiring import CLOCK, anomaly_settings, utcnow
from bot.chat_cards import card_settings
from bot.chat_senders import DingTalkSender, WeComSender
from bot.dingtalk.api import DingTalkApi
from bot.dingtalk.stream import stream_cleanup_ctx
from bot.outbox_sender import OutboxSender, SenderSettings
from bot.people_config import PersonConfig, build_directory
from bot.webchat.hub import Hub, WebchatSender
from bot.webchat.routes import WEBCHAT, Webchat, close_sockets
from bot.webchat.routes import routes as webchat_routes
from bot.webhooks import INBOX
from bot.wecom.api import WeComApi
from bot.wecom.callback import make_wecom_routes
from bot.wecom.kf_wiring import add_kf, kf_ctx, kf_enabled, kf_waker
from bot.wecom.robot import add_robot, connect_outbox, robot_ctx
from core.inbox import Envelope
from handlers.chat_deps import ChatDeps
from handlers.ports import ChatSender, ChatUnitOfWork
from storage.outbox_wakeups import listen

log = logging.getLogger("orderbot.chat")

CHAT = web.AppKey("chat", ChatDeps)
OUTBOX_SENDER = web.AppKey("outbox_sender", OutboxSender)


def install_chat(app: web.Application, *, people: Sequence[PersonConfig] | None = None,
                 senders: Mapping[str, ChatSender] | None = None,
                 settings: SenderSettings | None = None) -> None:
    """Add the web chat and the outbox sender to ``app`` (built by ``bot.app.build_app``).

    ``people`` defaults to ``config.people``; ``senders`` replaces the platform senders built
    from ``[dingtalk]`` / ``[wecom]`` (tests); the web chat sender is always there.
    """

    async def chat_ctx(app: web.Application) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await _start(app, stack, people, senders, settings)
            yield
            app[OUTBOX_SENDER].stop()

    chat_ctx.__name__ = "_chat_ctx"
    _insert_before_workers(app, chat_ctx)
    app.router.add_routes(webchat_routes())
    app.on_shutdown.append(close_sockets)  # an open page must not hold up Ctrl-C
    _install_inbound(app)


class _AppInbox:
    """The app's inbox, looked up when an item arrives: routes and stream handlers are built
    with the app, before ``_inbox_ctx`` opens the inbox they put into."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def put(self, envelope: Envelope) -> bool:
        return await self._app[INBOX].put(envelope)


def _install_inbound(app: web.Application) -> None:
    """Inbound for each enabled platform: WeCom callbacks are routes of this app; the DingTalk
    stream client runs from the inbox's start to just before it closes (last ``cleanup_ctx``
    entry: set up after every resource it needs, torn down before any of them)."""
    from bot.app import CONFIG  # the composition root's key (no import cycle)

    config, inbox = app[CONFIG], _AppInbox(app)
    if config.wecom.enabled:
        wake = kf_waker(app) if kf_enabled(config) else None  # 微信客服 on the same callback
        app.router.add_routes(make_wecom_routes(config.wecom, inbox, on_kf_event=wake))
        log.info("WeCom callbacks mounted at /callbacks/wecom")
    if config.dingtalk.enabled:
        app.cleanup_ctx.append(stream_cleanup_ctx(config.dingtalk, inbox))
    if config.wecom_bot.enabled:
        app.cleanup_ctx.append(robot_ctx)
    if kf_enabled(config):
        app.cleanup_ctx.append(kf_ctx)


def _insert_before_workers(app: web.Application, ctx: Any) -> None:
    """The chat deps must exist before the inbox workers start (they hand envelopes to them)."""
    names = [getattr(entry, "__name__", "") for entry in app.cleanup_ctx]
    index = names.index("_workers_ctx") if "_workers_ctx" in names else len(names)
    app.cleanup_ctx.insert(index, ctx)


async def _start(app: web.Application, stack: AsyncExitStack,
                 people: Sequence[PersonConfig] | None, senders: Mapping[str, ChatSender] | None,
                 settings: SenderSettings | None) -> None:
    from bot.app import CONFIG, DATABASE  # the composition root's keys (no import cycle)

    config, database = app[CONFIG], app[DATABASE]
    entries = people if people is not None else getattr(config, "people", ())
    hub = Hub()
    platform_senders = dict(senders) if senders is not None else \
        await _platform_senders(config, stack)
    platform_senders["webchat"] = WebchatSender(hub)
    robot = add_robot(app, config, _AppInbox(app), platform_senders)
    await add_kf(app, config, platform_senders, stack)  # 微信客服 customers (text replies)

    def new_uow() -> ChatUnitOfWork:
        return database.new_uow()  # SqlUnitOfWork fits the port structurally

    sender = OutboxSender(new_uow, platform_senders, settings,
                          clock=app.get(CLOCK, utcnow))  # the service's clock (tests move it)
    connect_outbox(robot, sender)
    deps = ChatDeps(build_directory(entries), new_uow, platforms=_card_platforms(platform_senders),
                    queued=sender.wake, anomalies=anomaly_settings(config),
                    gates=config.gating.policies(), cards=card_settings(config))
    app[CHAT], app[OUTBOX_SENDER] = deps, sender
    app[WEBCHAT] = Webchat(hub, deps, app[INBOX])
    task = asyncio.create_task(sender.run(), name="outbox-sender")
    stack.push_async_callback(_stop, sender, task)
    if database.engine.dialect.name == "postgresql":  # rows committed by worker processes
        listening = asyncio.create_task(listen(config.database.url, sender.wake),
                                        name="outbox-wakeups")
        stack.push_async_callback(_cancel, listening)
    log.info("chat installed: %d people, platforms %s", len(deps.directory.people),
             ", ".join(platform_senders))


def _card_platforms(senders: Mapping[str, ChatSender]) -> tuple[str, ...]:
    """Where cards to people go: every platform, except that the WeCom smart robot is left
    out when the self-built app reaches the same UserIDs (one card per person, not two)."""
    return tuple(p for p in senders if not (p == "wecom_bot" and "wecom" in senders))


async def _platform_senders(config: Any, stack: AsyncExitStack) -> dict[str, ChatSender]:
    """Senders for the enabled platforms; their API clients do not retry (the outbox does)."""
    found: dict[str, ChatSender] = {}
    if config.dingtalk.enabled:
        dingtalk = await stack.enter_async_context(DingTalkApi(config.dingtalk, attempts=1))
        found["dingtalk"] = DingTalkSender(dingtalk)
    if config.wecom.enabled:
        wecom = await stack.enter_async_context(WeComApi(config.wecom, attempts=1))
        found["wecom"] = WeComSender(wecom)
    return found


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _stop(sender: OutboxSender, task: asyncio.Task[None]) -> None:
    sender.stop()
    try:
        await asyncio.wait_for(task, timeout=2)
    except TimeoutError:
        log.warning("outbox sender did not stop in time; cancelled")
