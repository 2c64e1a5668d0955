"""WeCom server API client (aiohttp): token cache, message/send, update_template_card, webhook.

Error handling follows WeCom docs 90313/90455 (notes/wecom.md §2): 40014/42001/41001 mean our
token is bad -> fetch a new one and retry once; 45009/45033/-1 mean slow down -> backoff with
the shared retry helper; HTTP 429/5xx and transport errors are retried the same way; any other
errcode (bad userid, untrusted IP 60020 ...) is a ``WeComApiError`` that retrying cannot fix.
The access token and webhook key travel as query parameters, so no URL with its query is ever
logged or put in an exception.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.model import Card
from bot.token_client import TokenClient
from bot.wecom import cards
from bot.wecom.settings import WeComSettings
from integrations.http import RateLimitedError, UpstreamError, call_with_retry

log = logging.getLogger("orderbot.wecom")

TOKEN_ERRCODES = frozenset({40014, 41001, 42001})
THROTTLE_ERRCODES = frozenset({-1, 45009, 45033})


class WeComApiError(Exception):
    """WeCom refused the call for a reason retrying will not fix."""

    def __init__(self, path: str, errcode: int, errmsg: str) -> None:
        super().__init__(f"{path}: errcode {errcode} {errmsg}")
        self.errcode = errcode


@dataclass(frozen=True, slots=True)
class SentCard:
    """What a template_card send returns: ``response_code`` updates the card once."""

    msgid: str
    response_code: str


class WeComApi(TokenClient):
    """One self-built app's API client. Use as ``async with WeComApi(settings) as api``."""

    def __init__(self, settings: WeComSettings, session: aiohttp.ClientSession | None = None,
                 *, clock: Callable[[], float] = time.monotonic, attempts: int = 4,
                 base_delay: float = 0.5) -> None:
        super().__init__(settings.api_base, session,
                         refresh_margin_s=settings.token_refresh_margin_s, clock=clock,
                         attempts=attempts, base_delay=base_delay)
        self._settings = settings

    # --- messages ------------------------------------------------------------------------------

    async def send_text(self, touser: list[str], content: str) -> dict[str, Any]:
        return await self._post("/cgi-bin/message/send", {
            "touser": "|".join(touser), "agentid": self._settings.agent_id,
            "msgtype": "text", "text": {"content": content}})

    async def send_markdown(self, touser: list[str], content: str) -> dict[str, Any]:
        return await self._post("/cgi-bin/message/send", {
            "touser": "|".join(touser), "agentid": self._settings.agent_id,
            "msgtype": "markdown", "markdown": {"content": content}})

    async def send_card(self, touser: list[str], card: Card, source: str = "") -> SentCard:
        """A template_card (or markdown, for a card without buttons) to app users."""
        body = cards.card_message(card, touser, self._settings.agent_id, source)
        reply = await self._post("/cgi-bin/message/send", body)
        if reply.get("invaliduser"):
            log.warning("WeCom card %s: invalid users %s", card.card_id, reply["invaliduser"])
        return SentCard(str(reply.get("msgid", "")), str(reply.get("response_code", "")))

    async def update_card_buttons(self, userids: list[str], response_code: str,
                                  replace_name: str) -> dict[str, Any]:
        """Grey the clicked card's buttons with ``replace_name`` (a response_code works once)."""
        body = cards.update_replace_name(userids, self._settings.agent_id, response_code,
                                         replace_name)
        return await self._post("/cgi-bin/message/update_template_card", body)

    async def update_card(self, userids: list[str], response_code: str, card: Card,
                          sent_version: int, source: str = "") -> dict[str, Any]:
        """Replace the clicked card with ``card`` (keeping the task_id it was sent with)."""
        body = cards.update_whole_card(userids, self._settings.agent_id, response_code, card,
                                       sent_version, source)
        return await self._post("/cgi-bin/message/update_template_card", body)

    async def webhook_send(self, body: dict[str, Any], key: str = "") -> dict[str, Any]:
        """A group robot (消息推送) message; ``key`` defaults to ``settings.webhook_key``."""
        params = {"key": key or self._settings.webhook_key}

        async def once() -> dict[str, Any]:
            return self._check("/cgi-bin/webhook/send",
                               await self._request("POST", "/cgi-bin/webhook/send", params, body))

        return await call_with_retry(once, attempts=self._attempts, base_delay=self._base_delay)

    # --- plumbing --------------------------------------------------------------------------

    async def _fetch_token(self) -> tuple[str, int]:
        params = {"corpid": self._settings.corp_id, "corpsecret": self._settings.secret}
        reply = self._check("/cgi-bin/gettoken",
                            await self._request("GET", "/cgi-bin/gettoken", params, None))
        log.info("WeCom access token refreshed")
        return str(reply["access_token"]), int(reply.get("expires_in", 7200))

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async def once() -> dict[str, Any]:
            return await self._post_with_token(path, body)

        return await call_with_retry(once, attempts=self._attempts, base_delay=self._base_delay)

    async def _post_with_token(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        token = await self.access_token()
        reply = await self._request("POST", path, {"access_token": token}, body)
        if reply.get("errcode") in TOKEN_ERRCODES:
            log.info("WeCom token refused (errcode %s); fetching a new one", reply["errcode"])
            self._invalidate(token)
            token = await self.access_token()
            reply = await self._request("POST", path, {"access_token": token}, body)
        return self._check(path, reply)

    def _check(self, path: str, reply: dict[str, Any]) -> dict[str, Any]:
        errcode = int(reply.get("errcode", 0))
        if errcode in THROTTLE_ERRCODES:
            raise RateLimitedError(f"{path}: errcode {errcode}")
        if errcode:
            raise WeComApiError(path, errcode, str(reply.get("errmsg", "")))
        return reply

    async def _request(self, method: str, path: str, params: dict[str, str],
                       body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            async with self._http().request(method, self._base + path, params=params,
                                             json=body) as response:
                if response.status == 429:
                    raise RateLimitedError(f"{path}: HTTP 429")
                if response.status >= 500:
                    raise UpstreamError(f"{path}: HTTP {response.status}")
                if response.status >= 400:
                    raise WeComApiError(path, -response.status, "HTTP error")
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise UpstreamError(f"{path}: {type(error).__name__}") from None
        return data if isinstance(data, dict) else {"errcode": -2, "errmsg": "not an object"}
