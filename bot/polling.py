"""Polling every configured shop (``poll = true``) for orders changed in a sliding window.

Why polling next to webhooks: pushes get lost (the platform gives up retrying, our service was
down, a shop has no push subscription); a poll every few minutes finds whatever was missed.

One apscheduler interval job per shop. A run:

1. takes the lock ``poll:{channel}:{shop_id}`` (Redis when several processes share Redis): a
   shop is polled by one process at a time; a run that finds it held skips its turn quietly;
2. reads the shop's cursor and polls ``[last_end - poll_overlap_s, now]`` (first run: the last
   day). The overlap covers clock skew and platforms that index a change a little late;
3. puts every order of every page on the inbox as a ``poll`` payload whose dedup key is the
   order body's digest: an unchanged order seen again in the overlap is a no-op, a changed one
   is queued (and the idempotent upsert makes even a repeat harmless);
4. only after every page is queued moves the cursor to ``now``. Any failure keeps the cursor and
   records ``last_error``, so the next run retries the same window: never a gap at an edge.

Why one envelope per order and not per page: the channel parsers read one bare order or the
platform's own response envelope, not a bare list, and a malformed order then dead-letters on
its own instead of taking its page-mates with it.

Rate limits and retries happen inside the adapters (``integrations/http.py``); what still
fails here is logged and retried on the next run. ``ChannelAuthError`` is logged as an error
naming the shop: a person has to re-authorise it. Secrets and tokens never reach the logs.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import random
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from apscheduler.job import Job
from apscheduler.schedulers.base import BaseScheduler

from bot.config import ShopConfig
from core.errors import DomainError
from core.inbox import Envelope
from core.payloads import RawPayload, to_envelope
from handlers.ports import Inbox
from handlers.process_inbox import CHANNEL_PAYLOAD
from integrations.channels.base import ChannelAuthError, ShopCredentials
from integrations.http import ClientRequestError, UpstreamError
from storage.locks import Lock, hold
from storage.poll_cursors import PollCursor

log = logging.getLogger("orderbot.polling")

FIRST_LOOKBACK = timedelta(days=1)
LOCK_TTL_MS = 60_000  # extended every 20 s while a run lasts; lapses 60 s after a crash
FIRST_RUN_DELAY_S = (1.0, 30.0)  # never in the start-up burst, never long after it
CONTENT_TYPE = "application/json"

Page = bytes | dict[str, Any] | list[dict[str, Any]]
FetchSince = Callable[[aiohttp.ClientSession, ShopCredentials, datetime, datetime],
                      AsyncIterator[Page]]


class Locks(Protocol):
    def lock(self, name: str, ttl_ms: int) -> Lock: ...


class PollCursors(Protocol):
    async def get(self, channel: str, shop_id: str) -> PollCursor | None: ...

    async def advance(self, channel: str, shop_id: str, *, end: datetime,
                      at: datetime) -> None: ...

    async def fail(self, channel: str, shop_id: str, *, error: str, at: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class PollDeps:
    """What every shop's poller shares; built once by the composition root."""

    session: Callable[[], aiohttp.ClientSession]
    inbox: Inbox
    cursors: PollCursors
    locks: Locks
    clock: Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one run did. ``skipped``: another process held the shop's lock."""

    window: tuple[datetime, datetime] | None = None
    orders: int = 0
    queued: int = 0
    error: str | None = None
    skipped: bool = False


def poll_window(last_end: datetime | None, now: datetime, overlap_s: int
                ) -> tuple[datetime, datetime]:
    """``[last_end - overlap, now]``; the first run looks back ``FIRST_LOOKBACK``. The start is
    floored to the second because platforms compare whole seconds: flooring only widens. A
    negative overlap (config does not forbid it) would open a gap, so it counts as none."""
    overlap = timedelta(seconds=max(0, overlap_s))
    start = now - FIRST_LOOKBACK if last_end is None else last_end - overlap
    return min(start, now).replace(microsecond=0), now


def order_bodies(page: Page) -> list[bytes]:
    """One JSON body per order of a page. Adapters yield dicts parsed by ``json.loads`` (ints,
    hence ids, exact); they are written back with ``json.dumps``, whose float repr round-trips
    the parsed value, so nothing is lost here. A page already in bytes is queued as it is."""
    if isinstance(page, bytes | bytearray):
        return [bytes(page)]
    items = [page] if isinstance(page, dict) else page
    return [json.dumps(item, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            .encode() for item in items]


def credentials(shop: ShopConfig) -> ShopCredentials:
    return ShopCredentials(shop.channel, shop.shop_id, shop.app_key, shop.app_secret,
                           shop.access_token or None, shop.api_base)


def fetcher(channel: str) -> FetchSince | None:
    """The channel's ``api.fetch_since``, or None for a channel without an order API (POS)."""
    try:
        module = importlib.import_module(f"integrations.channels.{channel}.api")
    except ModuleNotFoundError:
        return None
    fetch: FetchSince | None = getattr(module, "fetch_since", None)
    return fetch


class ShopPoller:
    """Polls one shop; ``run`` is the scheduled job (tests call it with ``now``)."""

    def __init__(self, shop: ShopConfig, fetch: FetchSince, deps: PollDeps) -> None:
        self.shop, self._fetch, self._deps = shop, fetch, deps
        self.name = f"poll:{shop.channel}:{shop.shop_id}"
        self.job: Job | None = None  # its scheduler job, once added
        self._running: set[asyncio.Task[Any]] = set()

    async def run(self, now: datetime | None = None) -> PollResult:
        task = asyncio.current_task()
        assert task is not None, "run() is a coroutine of a task"
        self._running.add(task)
        try:
            async with hold(self._deps.locks.lock(self.name, LOCK_TTL_MS)) as mine:
                if not mine:
                    log.debug("%s: held by another process, skipping this turn", self.name)
                    return PollResult(skipped=True)
                return await self._locked_run(now or self._deps.clock())
        finally:
            self._running.discard(task)

    async def cancel(self) -> None:
        """Stop a run in flight (shutdown): its cursor stays, the next start retries it."""
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _locked_run(self, now: datetime) -> PollResult:
        channel, shop_id = self.shop.channel, self.shop.shop_id
        cursor = await self._deps.cursors.get(channel, shop_id)
        window = poll_window(cursor.last_end if cursor else None, now, self.shop.poll_overlap_s)
        try:
            orders, queued = await self._queue_window(window, now)
        except Exception as error:  # the job boundary: record it, the next run retries
            reason = self._reason(error)
            self._log_failure(error, reason, window)
            await self._deps.cursors.fail(channel, shop_id, error=reason, at=now)
            return PollResult(window, error=reason)
        await self._deps.cursors.advance(channel, shop_id, end=window[1], at=now)
        log.info("%s: window %s..%s: %d orders, %d queued, %d seen before", self.name,
                 _iso(window[0]), _iso(window[1]), orders, queued, orders - queued)
        return PollResult(window, orders, queued)

    async def _queue_window(self, window: tuple[datetime, datetime], now: datetime
                            ) -> tuple[int, int]:
        orders = queued = 0
        pages = self._fetch(self._deps.session(), credentials(self.shop), *window)
        async for page in pages:
            for body in order_bodies(page):
                orders += 1
                queued += await self._deps.inbox.put(self._envelope(body, now))
        return orders, queued

    def _envelope(self, body: bytes, now: datetime) -> Envelope:
        channel, shop_id = self.shop.channel, self.shop.shop_id
        payload = RawPayload(channel, "poll", body, CONTENT_TYPE, now, shop_id)
        return Envelope(kind=CHANNEL_PAYLOAD,
                        dedup_key=f"poll:{channel}:{shop_id}:{payload.digest}",
                        payload=to_envelope(payload), received_at=now)

    def _reason(self, error: BaseException) -> str:
        """``Type: message`` with this shop's secrets blanked out, for logs and the cursor."""
        text = f"{type(error).__name__}: {error}"
        shop = self.shop
        for secret in (shop.app_secret, shop.access_token, shop.webhook_secret):
            if len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def _log_failure(self, error: Exception, reason: str,
                     window: tuple[datetime, datetime]) -> None:
        where = f"{self.name}: window {_iso(window[0])}..{_iso(window[1])}"
        if isinstance(error, ChannelAuthError):
            log.error("%s refused: the platform rejects the credentials of %s shop %r; a "
                      "person must re-authorise it (cursor kept): %s", where,
                      self.shop.channel, self.shop.shop_id, reason)
        elif isinstance(error, UpstreamError | ClientRequestError | DomainError
                        | aiohttp.ClientError | ValueError):
            log.warning("%s failed, cursor kept, retried next run: %s", where, reason)
        else:
            log.error("%s failed unexpectedly, cursor kept: %s", where, reason,
                      exc_info=error)


def add_poll_jobs(scheduler: BaseScheduler, *, shops: Iterable[ShopConfig],
                  deps: PollDeps) -> dict[str, ShopPoller]:
    """One interval job per shop with ``poll = true``; returns the pollers by job id.

    ``max_instances=1`` + ``coalesce``: a slow run is never overlapped by this process, and
    runs missed meanwhile collapse into one. The first run is jittered so that processes and
    shops started together do not hit the platforms (and the lock) all at the same second.
    """
    pollers: dict[str, ShopPoller] = {}
    for shop in shops:
        fetch = fetcher(shop.channel) if shop.poll else None
        if shop.poll and fetch is None:
            log.warning("shop %s/%s has poll = true but %s has no order API to poll",
                        shop.channel, shop.shop_id, shop.channel)
        if fetch is None:
            continue
        poller = ShopPoller(shop, fetch, deps)
        low, high = FIRST_RUN_DELAY_S
        delay = random.uniform(low, max(low, min(high, shop.poll_interval_s)))  # noqa: S311
        poller.job = scheduler.add_job(
            poller.run, "interval", seconds=shop.poll_interval_s, id=poller.name,
            name=poller.name, max_instances=1, coalesce=True,
            misfire_grace_time=shop.poll_interval_s,
            next_run_time=datetime.now(UTC) + timedelta(seconds=delay))
        pollers[poller.name] = poller
    return pollers


async def cancel_polls(pollers: Sequence[ShopPoller]) -> None:
    """Shutdown: cancel runs in flight before the session, Redis and database close."""
    await asyncio.gather(*(poller.cancel() for poller in pollers))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


POLLERS = web.AppKey("pollers", dict[str, ShopPoller])
