"""Reading 微信客服 messages: a ``kf_msg_or_event`` callback wakes ``KfSync``, which pages
``kf/sync_msg`` from the account's stored cursor and puts every customer text on the inbox,
where the customer desk answers it like any chat customer (``handlers/receive_text``).

Why each piece:

* the callback only wakes the sync (WeCom waits 5 s for the answer; a sync may page longer);
  callbacks arriving during a sync make one more round after it, with the newest token;
* one sync per account at a time across processes: a named lock (Redis when the inbox is on
  Redis, in-process otherwise); a waker that finds it taken waits for it, so a message that
  arrived after the holder's last page is still read;
* the cursor is saved after a page's messages are on the inbox (durable): a crash re-reads at
  most that page, and the inbox's dedup key ``wecom_kf:msg:<msgid>`` drops what it already has,
  so nobody is answered twice, not even when two processes read the same page;
* WeCom throttling and outages are retried with backoff here (the API client does not retry:
  the outbox owns the retries of sends); a token WeCom no longer accepts (10 min) is dropped
  and the page read without one;
* at start every configured account is read once (without a token), so messages that came
  while the service was down are answered if they are younger than ``kf_max_age_s``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.model import inbound_envelope
from bot.wecom.api import WeComApiError
from bot.wecom.kf import KfEvent, KfPage, customer_text, dedup_key
from bot.wecom.kf_api import WeComKfApi
from bot.wecom.settings import WeComSettings
from handlers.ports import Inbox
from integrations.http import call_with_retry
from storage.locks import Lock, hold

log = logging.getLogger("orderbot.wecom.kf")

LOCK_TTL_MS = 60_000
LOCK_POLL_S = 0.1


class Cursors(Protocol):
    async def get(self, open_kfid: str) -> str: ...

    async def save(self, open_kfid: str, cursor: str, *, at: datetime) -> None: ...


class Locks(Protocol):
    def lock(self, name: str, ttl_ms: int) -> Lock: ...


class KfSync:
    def __init__(self, api: WeComKfApi, inbox: Inbox, cursors: Cursors, locks: Locks,
                 settings: WeComSettings, *, clock: Callable[[], datetime],
                 lock_wait_s: float = 30.0, attempts: int = 4, base_delay: float = 0.5
                 ) -> None:
        self._api, self._inbox, self._cursors, self._locks = api, inbox, cursors, locks
        self._accounts = frozenset(settings.kf_open_kfids)
        self._max_age_s = settings.kf_max_age_s
        self._clock = clock
        self._lock_wait_s, self._attempts, self._base_delay = lock_wait_s, attempts, base_delay
        self._wanted: dict[str, str] = {}  # open_kfid -> newest token, for the next round
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def wake(self, event: KfEvent) -> None:
        """A callback said ``event.open_kfid`` has news: read it soon (once per burst)."""
        if event.open_kfid not in self._accounts:
            log.warning("kf event for account %s ignored (not in [wecom] kf_open_kfids)",
                        event.open_kfid)
            return
        self._wanted[event.open_kfid] = event.token
        task = self._tasks.get(event.open_kfid)
        if task is None or task.done():
            self._tasks[event.open_kfid] = asyncio.create_task(
                self._drain(event.open_kfid), name=f"wecom-kf-{event.open_kfid}")

    def start(self) -> None:
        """Read every configured account once (what came while the service was down)."""
        for open_kfid in sorted(self._accounts):
            self.wake(KfEvent(open_kfid, ""))

    async def close(self) -> None:
        tasks = [t for t in self._tasks.values() if not t.done()]
        self._wanted.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _drain(self, open_kfid: str) -> None:
        while open_kfid in self._wanted:
            token = self._wanted.pop(open_kfid)
            try:
                await self.sync(open_kfid, token)
            except Exception:  # the next callback (or restart) reads from the same cursor
                log.exception("kf sync of %s failed", open_kfid)

    async def sync(self, open_kfid: str, token: str = "") -> int:
        """Read ``open_kfid`` to the end under its lock; the number of messages queued."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_wait_s
        while True:
            async with hold(self._locks.lock(f"wecom_kf:{open_kfid}", LOCK_TTL_MS)) as mine:
                if mine:
                    return await self._read(open_kfid, token)
            if loop.time() >= deadline:
                log.warning("kf sync of %s skipped: its lock stayed taken %.0f s", open_kfid,
                            self._lock_wait_s)
                return 0
            await asyncio.sleep(LOCK_POLL_S)

    async def _read(self, open_kfid: str, token: str) -> int:
        cursor, queued = await self._cursors.get(open_kfid), 0
        while True:
            page, token = await self._page(open_kfid, cursor, token)
            now = self._clock()
            for message in page.messages:
                try:
                    text = customer_text(message, now=now, max_age_s=self._max_age_s)
                except ValueError as error:  # one bad message must not stall the account
                    log.warning("kf message %s skipped: %s", message.get("msgid"), error)
                    continue
                if text is not None and await self._inbox.put(
                        inbound_envelope(text, dedup_key(text), now)):
                    queued += 1
            if page.next_cursor and page.next_cursor != cursor:
                cursor = page.next_cursor
                await self._cursors.save(open_kfid, cursor, at=now)
            elif page.has_more:
                log.warning("kf/sync_msg of %s: has_more without a new cursor", open_kfid)
                break
            if not page.has_more:
                break
        log.info("kf sync of %s: %d customer message(s) queued", open_kfid, queued)
        return queued

    async def _page(self, open_kfid: str, cursor: str, token: str) -> tuple[KfPage, str]:
        """One page, retried with backoff; a refused callback token is dropped."""

        async def once() -> KfPage:
            return await self._api.sync_msg(open_kfid, cursor, token)

        try:
            return await call_with_retry(once, attempts=self._attempts,
                                         base_delay=self._base_delay), token
        except WeComApiError as error:
            if not token:
                raise
            log.warning("kf/sync_msg of %s refused with the callback token (%s); reading "
                        "without it", open_kfid, error.errcode)
            token = ""
            return await call_with_retry(once, attempts=self._attempts,
                                         base_delay=self._base_delay), token
