"""Unasked cards, wired: ``[cards]`` config -> ``CardSettings``, the chat deps an
``orderbot worker`` process announces and answers customers with, and the dead-letter digest
job.

A worker process has no outbox sender and no web chat of its own: it writes cards and outbox
rows in its ingest transactions, and the ``orderbot run`` process's sender (which polls the
outbox) delivers them. The digest job runs on ``orderbot run``'s scheduler; a compare-and-set
per window keeps it to one digest even if several processes ran it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

from aiohttp import web

from bot.anomaly_wiring import anomaly_settings
from bot.config import Config
from bot.people_config import build_directory
from bot.workers import utcnow
from core.audience import parse_audience
from core.card_pacing import Pacing
from handlers.chat_deps import CardSettings, ChatDeps
from handlers.dead_letter_digest import send_dead_letter_digests
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.cards")


def card_settings(config: Config) -> CardSettings:
    cards = config.cards
    return CardSettings(
        new_order=parse_audience(cards.new_order_to) if cards.new_order else None,
        dead_letters=Pacing(cards.dead_letter_cards, cards.dead_letter_window_s),
    )


def configured_platforms(config: Config) -> tuple[str, ...]:
    """Where cards to people go, from config alone (a worker builds no senders): the same
    list ``orderbot run`` derives from its senders."""
    found = [name for name in ("dingtalk", "wecom") if getattr(config, name).enabled]
    robot = getattr(config, "wecom_bot", None)
    if robot is not None and robot.enabled and "wecom" not in found:
        found.append("wecom_bot")  # the self-built app reaches the same UserIDs
    return (*found, "webchat")


def digest_interval_s(config: Config) -> int:
    """How often the digest job looks for closed windows: a tenth of a window, 1-30 s."""
    return max(1, min(30, config.cards.dead_letter_window_s // 10))


async def worker_chat_ctx(app: web.Application) -> AsyncIterator[None]:
    """``app[CHAT]`` for ``orderbot worker``: ingestion there announces like ``run`` does, and
    a customer's message this process takes is answered by its own customer desk
    (``bot.tracking.open_desk``, the one ``run`` builds; its session, read engine and Redis
    client close here, after the inbox workers have stopped)."""
    from bot.app import CONFIG, DATABASE  # the composition root's keys (no import cycle)
    from bot.chat import CHAT
    from bot.tracking import open_desk

    config, database = app[CONFIG], app[DATABASE]

    def new_uow() -> ChatUnitOfWork:
        return database.new_uow()  # SqlUnitOfWork fits the port structurally

    app[CHAT] = ChatDeps(build_directory(config.people), new_uow,
                         platforms=configured_platforms(config), cards=card_settings(config),
                         gates=config.gating.policies(),
                         anomalies=anomaly_settings(config))
    async with AsyncExitStack() as stack:
        await open_desk(app, stack)  # no tracking jobs here: ``orderbot run`` schedules them
        yield


async def dead_letter_digests(app: web.Application) -> None:
    """Scheduler job: digest cards for closed windows (no-op until chat is installed)."""
    from bot.chat import CHAT

    chat = app.get(CHAT)
    if chat is not None:
        sent = await send_dead_letter_digests(chat, now=utcnow())
        if sent:
            log.info("sent %d dead-letter digest card(s)", sent)
