"""Chat tasks in the service: ``[tasks]`` and ``[intent]`` settings handed to the chat use
cases, the intent reader warmed up at start, and the ``task.overdue`` timer kind.

``install_tasks(app)`` is called by ``build_app`` and ``build_worker_app`` after
``install_anomalies`` (whose timer registry it adds to). Its ``cleanup_ctx`` runs before the
inbox workers start: it builds jieba's dictionary in a thread (about a second, once per
process; never on the event loop) and gives the chat deps the task settings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime

from aiohttp import web

from bot.anomaly_wiring import TIMER_REGISTRY, anomaly_settings
from bot.people_config import build_directory
from core.intent import warm_up
from core.timers import Timer, TimerKind
from handlers.chat_deps import ChatDeps
from handlers.ports import ChatUnitOfWork
from handlers.task_changes import task_overdue
from handlers.timers import TimerHandler

log = logging.getLogger("orderbot.tasks")


def install_tasks(app: web.Application) -> None:
    app[TIMER_REGISTRY].register(TimerKind.TASK_OVERDUE, _overdue_handler(app))
    names = [getattr(entry, "__name__", "") for entry in app.cleanup_ctx]
    index = names.index("_workers_ctx") if "_workers_ctx" in names else len(names)
    app.cleanup_ctx.insert(index, _tasks_ctx)


async def _tasks_ctx(app: web.Application) -> AsyncIterator[None]:
    from bot.chat import CHAT

    await asyncio.to_thread(warm_up)
    if CHAT in app:
        app[CHAT] = with_tasks(app, app[CHAT])
    log.info("chat tasks ready (intent reader warmed up)")
    yield


def with_tasks(app: web.Application, chat: ChatDeps) -> ChatDeps:
    from bot.app import CONFIG

    config = app[CONFIG]
    return replace(chat, tasks=config.tasks.settings(),
                   ask_back_below=config.intent.ask_back_below)


def _overdue_handler(app: web.Application) -> TimerHandler:
    built: list[ChatDeps] = []

    def chat() -> ChatDeps:
        """The app's chat deps; a process without chat (a bare worker) builds them once from
        config: the escalation cards go to the outbox, the process running the sender
        delivers them."""
        from bot.app import CONFIG, DATABASE
        from bot.chat import CHAT

        if CHAT in app:
            return app[CHAT]
        if not built:
            config, database = app[CONFIG], app[DATABASE]
            platforms = ("webchat", *(p for p in ("dingtalk", "wecom")
                                      if getattr(config, p).enabled))
            built.append(with_tasks(app, ChatDeps(
                build_directory(config.people), database.new_uow, platforms=platforms,
                anomalies=anomaly_settings(config))))
        return built[0]

    async def overdue(uow: ChatUnitOfWork, timer: Timer, now: datetime) -> None:
        await task_overdue(uow, timer, chat(), now=now)

    return overdue
