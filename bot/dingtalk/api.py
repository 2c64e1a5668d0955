"""DingTalk OpenAPI client (aiohttp): token cache, interactive cards, robot messages.

Our own client instead of the SDK's repliers (notes/dingtalk.md §3, §6): those use blocking
``requests`` without timeouts and swallow errors (``create_and_deliver_card`` returns the id
even when the call failed). Here: HTTP 401 -> new token and retry once; 429, throttling codes
and 5xx -> backoff with the shared retry helper; other 4xx -> ``DingTalkApiError``; a card is
delivered only if every ``deliverResults[].success`` is true.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.dingtalk import cards
from bot.dingtalk.settings import DingTalkSettings
from bot.model import Card
from bot.token_client import TokenClient
from integrations.http import RateLimitedError, UpstreamError, call_with_retry

log = logging.getLogger("orderbot.dingtalk")

TOKEN_HEADER = "x-acs-dingtalk-access-token"  # noqa: S105 (a header name)
_THROTTLE_MARKS = ("throttl", "qpslimit", "too.fast", "toofast", "too.many", "flowcontrol")


class DingTalkApiError(Exception):
    """DingTalk refused the call for a reason retrying will not fix."""

    def __init__(self, path: str, status: int, code: str, message: str = "") -> None:
        super().__init__(f"{path}: HTTP {status} {code} {message}".rstrip())
        self.status, self.code = status, code


class DingTalkApi(TokenClient):
    """One app's OpenAPI client. Use as ``async with DingTalkApi(settings) as api``."""

    def __init__(self, settings: DingTalkSettings, session: aiohttp.ClientSession | None = None,
                 *, clock: Callable[[], float] = time.monotonic, attempts: int = 4,
                 base_delay: float = 0.5) -> None:
        super().__init__(settings.api_base, session,
                         refresh_margin_s=settings.token_refresh_margin_s, clock=clock,
                         attempts=attempts, base_delay=base_delay)
        self._settings = settings

    # --- cards -------------------------------------------------------------------------------

    async def send_card(self, card: Card, *, user_id: str = "", conversation_id: str = ""
                        ) -> dict[str, Any]:
        """Create and deliver ``card`` (outTrackId = card_id) to a user's robot chat or a group."""
        body = cards.create_and_deliver(card, self._settings.card_template_id,
                                        self._settings.robot, user_id=user_id,
                                        conversation_id=conversation_id)
        reply = await self._call("POST", "/v1.0/card/instances/createAndDeliver", body)
        failed = [r for r in reply.get("result", {}).get("deliverResults", [])
                  if not r.get("success")]
        if failed or not reply.get("success", True):
            raise DingTalkApiError("/v1.0/card/instances/createAndDeliver", 200,
                                   "deliverFailed", str(failed[0].get("errorMsg", "")
                                                        if failed else ""))
        return reply

    async def update_card(self, card: Card) -> dict[str, Any]:
        """New variables for the instance ``card.card_id`` (e.g. status "已由 张三 确认 10:42")."""
        return await self._call("PUT", "/v1.0/card/instances", cards.update_instance(card))

    # --- robot messages ------------------------------------------------------------------------

    async def send_text_to_users(self, user_ids: list[str], text: str) -> dict[str, Any]:
        return await self._to_users(user_ids, "sampleText", {"content": text})

    async def send_markdown_to_users(self, user_ids: list[str], title: str, text: str
                                     ) -> dict[str, Any]:
        return await self._to_users(user_ids, "sampleMarkdown", {"title": title, "text": text})

    async def send_text_to_group(self, conversation_id: str, text: str) -> dict[str, Any]:
        return await self._to_group(conversation_id, "sampleText", {"content": text})

    async def send_markdown_to_group(self, conversation_id: str, title: str, text: str
                                     ) -> dict[str, Any]:
        return await self._to_group(conversation_id, "sampleMarkdown",
                                    {"title": title, "text": text})

    async def _to_users(self, user_ids: list[str], key: str, param: dict[str, str]
                        ) -> dict[str, Any]:
        if not 1 <= len(user_ids) <= 20:
            raise ValueError("batchSend takes 1 to 20 user ids")
        reply = await self._call("POST", "/v1.0/robot/oToMessages/batchSend", {
            "robotCode": self._settings.robot, "userIds": user_ids, "msgKey": key,
            "msgParam": json.dumps(param, ensure_ascii=False)})
        if reply.get("flowControlledStaffIdList"):
            log.warning("DingTalk flow-controlled %d recipient(s)",
                        len(reply["flowControlledStaffIdList"]))
        return reply

    async def _to_group(self, conversation_id: str, key: str, param: dict[str, str]
                        ) -> dict[str, Any]:
        return await self._call("POST", "/v1.0/robot/groupMessages/send", {
            "robotCode": self._settings.robot, "openConversationId": conversation_id,
            "msgKey": key, "msgParam": json.dumps(param, ensure_ascii=False)})

    # --- plumbing ------------------------------------------------------------------------------

    async def _fetch_token(self) -> tuple[str, int]:
        reply = await self._request("POST", "/v1.0/oauth2/accessToken", "", {
            "appKey": self._settings.client_id, "appSecret": self._settings.client_secret})
        log.info("DingTalk access token refreshed")
        return str(reply["accessToken"]), int(reply.get("expireIn", 7200))

    async def _call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async def once() -> dict[str, Any]:
            token = await self.access_token()
            try:
                return await self._request(method, path, token, body)
            except DingTalkApiError as error:
                if error.status != 401:
                    raise
            log.info("DingTalk token refused; fetching a new one")
            self._invalidate(token)
            return await self._request(method, path, await self.access_token(), body)

        return await call_with_retry(once, attempts=self._attempts, base_delay=self._base_delay)

    async def _request(self, method: str, path: str, token: str, body: dict[str, Any]
                       ) -> dict[str, Any]:
        headers = {TOKEN_HEADER: token} if token else {}
        try:
            async with self._http().request(method, self._base + path, json=body,
                                             headers=headers) as response:
                data = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise UpstreamError(f"{path}: {type(error).__name__}") from None
        reply = data if isinstance(data, dict) else {}
        _raise_for(path, status, reply)
        return reply


def _raise_for(path: str, status: int, reply: dict[str, Any]) -> None:
    code = str(reply.get("code", ""))
    if status == 429 or (status >= 400 and any(m in code.lower() for m in _THROTTLE_MARKS)):
        raise RateLimitedError(f"{path}: HTTP {status} {code}")
    if status >= 500:
        raise UpstreamError(f"{path}: HTTP {status} {code}")
    if status >= 400:
        raise DingTalkApiError(path, status, code, str(reply.get("message", "")))
