"""The real service with WeCom enabled against the fake WeCom API, and WeCom's side of the chat:
text messages and card clicks as real encrypted, signed callbacks (tests/fakes/wecom.py), and
what the service sent, read back from the fake's request log."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from bot.app import build_app
from bot.config import Config, DatabaseConfig, InboxConfig
from bot.demo.generator import DemoOrder
from bot.outbox_sender import SenderSettings
from bot.people_config import PersonConfig
from bot.wecom.callback import CALLBACK_PATH
from bot.wecom.settings import WeComSettings
from tests.e2e import chat_store, demo_orders
from tests.e2e.chat_support import PEOPLE, serve
from tests.fakes.wecom import (
    FakeWeCom,
    Recorded,
    WeComSender,
    card_event_xml,
    post_callback,
    text_xml,
)

SEND = "/cgi-bin/message/send"
UPDATE = "/cgi-bin/message/update_template_card"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
TOKEN = "QDG6eK"


def wecom_settings(fake: FakeWeCom, **extra: Any) -> WeComSettings:
    """The self-built app (agent 1000002) the fake knows, its API at the fake."""
    return WeComSettings(enabled=True, corp_id=fake.corp_id, agent_id=1000002,
                         secret=fake.secret, token=TOKEN, encoding_aes_key=AES_KEY,
                         api_base=fake.base_url, **extra)


def callback_sender(fake: FakeWeCom) -> WeComSender:
    """WeCom's side of the callback crypto for the app of ``wecom_settings``."""
    return WeComSender(TOKEN, AES_KEY, fake.corp_id)


class HasBody(Protocol):
    @property
    def body(self) -> Any: ...


def button_key(card: HasBody, verb: str) -> str:
    """The key of the template card's one button whose action is ``verb``."""
    (key,) = [b["key"] for b in card.body["template_card"]["button_list"]
              if b["key"].endswith(":" + verb)]
    return str(key)


@dataclass
class WeComChat:
    """The running service (``base``, database ``db``) and WeCom talking to it."""

    fake: FakeWeCom
    wecom: WeComSender  # WeCom's side of the callback crypto
    base: str
    db: str
    http: aiohttp.ClientSession
    app: web.Application
    _msg_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(910001))

    @property
    def url(self) -> str:
        """The service's callback URL."""
        return self.base + CALLBACK_PATH

    async def post(self, xml: str, **kwargs: Any) -> tuple[int, str]:
        return await post_callback(self.http, self.url, xml, self.wecom, **kwargs)

    async def say(self, user: str, content: str) -> None:
        """``user`` writes ``content`` to the app (each message its own MsgId)."""
        xml = text_xml(self.fake.corp_id, user, content, str(next(self._msg_ids)))
        assert await self.post(xml) == (200, "success")

    async def tap(self, user: str, card: Recorded, verb: str, response_code: str) -> None:
        """``user`` taps ``card``'s ``verb`` button; WeCom gives the tap ``response_code``."""
        task_id = card.body["template_card"]["task_id"]
        xml = card_event_xml(self.fake.corp_id, user, button_key(card, verb), task_id,
                             response_code)
        assert await self.post(xml) == (200, "success")

    async def push(self, order: DemoOrder) -> int:
        """The order's platform pushes it to its demo shop's webhook."""
        return await demo_orders.push(self.http, self.base, order)

    async def value(self, sql: str, **params: object) -> Any:
        return await chat_store.value(self.db, sql, **params)

    async def rows(self, sql: str, **params: object) -> list[Any]:
        return await chat_store.rows(self.db, sql, **params)

    async def until(self, sql: str, expected: object, within: float = 15,
                    **params: object) -> object:
        return await chat_store.until(self.db, sql, expected, within, **params)


@asynccontextmanager
async def wecom_chat(fake: FakeWeCom, db_url: str, *, settings: WeComSettings | None = None,
                     inbox: InboxConfig | None = None,
                     people: tuple[PersonConfig, ...] = PEOPLE,
                     clock: Callable[[], datetime] | None = None,
                     **config: Any) -> AsyncIterator[WeComChat]:
    """The service on ``db_url`` (SQL inbox) with WeCom's app at ``fake`` (``settings``, by
    default ``wecom_settings(fake)``), ``people`` and the other ``config`` fields; the outbox
    sender polls every 50 ms."""
    settings = settings or wecom_settings(fake)
    inbox = inbox or InboxConfig(backend="sql", reclaim_idle_s=2.0)
    app = build_app(Config(database=DatabaseConfig(url=db_url), wecom=settings, inbox=inbox,
                           people=people, **config),
                    sender_settings=SenderSettings(poll_s=0.05), clock=clock)
    async with serve(app) as base, aiohttp.ClientSession() as http:
        yield WeComChat(fake, callback_sender(fake), base, db_url, http, app)


# --- what the service sent, by the fake's request log -------------------------------------


def sent(fake: FakeWeCom, user: str, msgtype: str) -> list[Recorded]:
    return [r for r in fake.calls(SEND)
            if r.body["touser"] == user and r.body["msgtype"] == msgtype]


def cards_to(fake: FakeWeCom, user: str, title: str | None = None) -> list[Recorded]:
    """The template cards sent to ``user`` (those titled ``title`` where given)."""
    return [r for r in sent(fake, user, "template_card")
            if title is None or r.body["template_card"]["main_title"]["title"] == title]


def texts_to(fake: FakeWeCom, user: str, containing: str = "") -> list[str]:
    return [r.body["text"]["content"] for r in sent(fake, user, "text")
            if containing in r.body["text"]["content"]]


def markdown_to(fake: FakeWeCom, user: str, containing: str = "") -> list[str]:
    return [r.body["markdown"]["content"] for r in sent(fake, user, "markdown")
            if containing in r.body["markdown"]["content"]]


def updates_to(fake: FakeWeCom, user: str) -> list[Recorded]:
    """The update_template_card calls for ``user``'s copy of a card."""
    return [r for r in fake.calls(UPDATE) if r.body["userids"] == [user]]


def send_code(fake: FakeWeCom, card: Recorded) -> str:
    """The response_code the fake answered to ``card``'s send (``rc-<request number>``)."""
    return f"rc-{fake.requests.index(card) + 1}"
