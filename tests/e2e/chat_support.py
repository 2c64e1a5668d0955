"""Start the real app with chat installed, and talk to it like the web chat page does."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_app
from bot.config import Config, DatabaseConfig, InboxConfig, ServerConfig
from bot.demo import DemoConfig
from bot.outbox_sender import SenderSettings
from bot.people_config import PersonConfig
from tests.conftest import fresh_engine
from tests.e2e.service import free_port

PEOPLE = (
    PersonConfig(id="zhangsan", name="张三", roles=("agent",), wecom_user_id="ZhangSan",
                 dingtalk_user_id="staff-001"),
    PersonConfig(id="lisi", name="李四", roles=("supervisor", "agent"), wecom_user_id="LiSi",
                 dingtalk_user_id="staff-002"),
    PersonConfig(id="wangwu", name="王五", roles=("warehouse",), wecom_user_id="WangWu",
                 dingtalk_user_id="staff-003"),
    PersonConfig(id="zhaoliu", name="赵六", roles=("ops",)),
)
# who anomaly cards go to, on the web chat only: an agent (A and B cards), a supervisor (the
# escalations) and production (C freezes)
ANOMALY_PEOPLE = (
    PersonConfig(id="zhangsan", name="张三", roles=("agent",)),
    PersonConfig(id="lisi", name="李四", roles=("supervisor",)),
    PersonConfig(id="sunqi", name="孙七", roles=("production",)),
)


class ServiceClock:
    """What the service's workers and SLA timers see as now (``build_app(clock=...)``): it
    stands still unless the test moves it, so no timer fires by itself during a test and "two
    minutes later" is an ``advance`` instead of a sleep."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@asynccontextmanager
async def serve(app: web.Application, port: int | None = None) -> AsyncIterator[str]:
    """``app`` on 127.0.0.1 (``port``, or a free one); yields its base URL (no trailing
    slash)."""
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@asynccontextmanager
async def chat_service(config: Config, monkeypatch: pytest.MonkeyPatch, *,
                       senders: Any = None, settings: SenderSettings | None = None,
                       people: tuple[PersonConfig, ...] = PEOPLE) -> AsyncIterator[str]:
    """The real app with the test staff table and, where given, fake platform senders."""
    app = build_app(replace(config, people=people), chat_senders=senders,
                    sender_settings=settings)
    async with serve(app) as base:
        yield base


@asynccontextmanager
async def demo_chat(db_url: str, seed: int) -> AsyncIterator[tuple[str, AsyncEngine]]:
    """`make run`'s stack with the demo on: the demo staff (no [[people]] configured), the
    feeder pushing every 50 ms to the service's own port (hence a known one); yields the base
    URL and an engine on the database."""
    engine = await fresh_engine(db_url)
    port = free_port()
    config = Config(server=ServerConfig(port=port), database=DatabaseConfig(url=db_url),
                    inbox=InboxConfig(backend="sql", poll_ms=20),
                    demo=DemoConfig(enabled=True, interval_s=0.05, seed=seed,
                                    unhealthy_share=0.1))
    try:
        async with serve(build_app(config), port) as base:
            yield base, engine
    finally:
        await engine.dispose()


class Page:
    """One person's open web chat page: its live socket and the two things it posts."""

    def __init__(self, session: aiohttp.ClientSession, base: str, who: str) -> None:
        self.session, self.base, self.who = session, base, who
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def open(self) -> Page:
        self.ws = await self.session.ws_connect(f"{self.base}/chat/ws?as={self.who}")
        return self

    async def say(self, text: str) -> int:
        async with self.session.post(f"{self.base}/chat/api/send",
                                     json={"as": self.who, "text": text}) as response:
            return response.status

    async def click(self, card: dict[str, Any], verb: str, click_id: str = "") -> int:
        button = next(b for b in card["buttons"] if b["payload"].endswith(":" + verb))
        body = {"as": self.who, "id": click_id or uuid.uuid4().hex, "card_id": card["card_id"],
                "payload": button["payload"], "version": card["version"]}
        async with self.session.post(f"{self.base}/chat/api/click", json=body) as response:
            return response.status

    async def next_event(self, within: float = 10) -> dict[str, Any]:
        assert self.ws is not None
        message = await asyncio.wait_for(self.ws.receive(), within)
        return dict(json.loads(message.data))

    async def next_of(self, kind: str, within: float = 10) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            event = await self.next_event(deadline - asyncio.get_running_loop().time())
            if event["kind"] == kind:
                return event

    async def card_titled(self, title: str, within: float = 10) -> dict[str, Any]:
        """The next new card titled ``title`` (other cards before it are passed over, each
        awaited for up to ``within`` seconds)."""
        while True:
            card = dict((await self.next_of("card", within))["payload"]["card"])
            if card["title"] == title:
                return card
