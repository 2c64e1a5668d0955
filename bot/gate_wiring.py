"""Gated actions in the service: the expiry timer kind ``gate.expire``.

A proposal's expiry is a durable timer set in the transaction that files it (handlers/
propose_gate) and cancelled with its decision; every process runs a timer worker (bot/
anomaly_wiring) and the queue hands each due timer to one of them. The handler looks the chat
dependencies up when the timer fires (they exist once the app has started).
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from bot.anomaly_wiring import TIMER_REGISTRY
from core.timers import Timer, TimerKind
from handlers.expire_gates import expire_gate
from handlers.ports import ChatUnitOfWork


def install_gates(app: web.Application) -> None:
    """Register the ``gate.expire`` handler (call after ``install_anomalies``)."""

    async def expire(uow: ChatUnitOfWork, timer: Timer, now: datetime) -> None:
        from bot.chat import CHAT  # set by the chat ctx (run) or the worker chat ctx

        await expire_gate(uow, timer, app[CHAT], now=now)

    app[TIMER_REGISTRY].register(TimerKind.GATE_EXPIRE, expire)
