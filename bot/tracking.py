"""Tracking wiring for the composition root: providers in failover order, the customer desk
(chat and ``GET /api/track``), provider push callbacks (``POST /callbacks/logistics/{name}``),
and the scheduled jobs (poll due parcels, flag silent ones).

``open_desk(app, stack)`` builds the customer desk of one process and hands it to
``app[CHAT]``; every process whose inbox workers take chat messages calls it, since any of
them may take a customer's: ``install_tracking(app)`` (``orderbot run``, called once by
``bot.app.build_app`` after ``install_chat``: its ``cleanup_ctx`` runs after the chat deps
exist and before the inbox workers start) and ``worker_chat_ctx`` (``orderbot worker``).

The poll and silence jobs run in ``orderbot run`` only, like its other scheduled jobs (channel
polls, dead-letter digests). Each round already takes a lock (``_singleton``), so several
``run`` processes on one Redis poll once; worker processes are added to take inbox work and
have no scheduler, and with a SQL inbox their locks would be per process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import datetime

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis

from bot.chat import CHAT
from bot.config import Config
from bot.tracking_config import TrackingConfig
from bot.wecom.kf import PLATFORM as KF_PLATFORM
from bot.wecom.kf_wiring import kf_enabled
from bot.workers import utcnow
from core.chat import InboundMessage
from core.errors import DomainError
from core.masking import mask_text
from handlers.answer_customer import Asker, answer_customer
from handlers.check_silence import flag_silent_parcels
from handlers.track_parcel import apply_push, poll_due
from handlers.tracking_ports import RateLimiter, TrackingDeps, TrackingSettings
from integrations.http import new_session
from integrations.logistics.base import PushRejectedError, TrackingProvider
from integrations.logistics.failover import ProviderChain
from integrations.logistics.kdniao import Kdniao
from integrations.logistics.kuaidi100 import Kuaidi100
from storage.customers import SqlCustomerReader
from storage.db import create_read_engine
from storage.inbox.wiring import open_redis
from storage.locks import MemoryLocks, RedisLocks
from storage.rate_limit import MemoryRateLimiter, RedisRateLimiter

log = logging.getLogger("orderbot.tracking")

TRACKING = web.AppKey("tracking", TrackingDeps)
CHAIN = web.AppKey("tracking_chain", ProviderChain)


def build_providers(config: TrackingConfig, session: aiohttp.ClientSession
                    ) -> ProviderChain:
    """The configured providers in ``config.providers`` order (unconfigured ones left out)."""
    timeout = aiohttp.ClientTimeout(total=config.timeout_s, connect=min(config.timeout_s, 3))
    made: dict[str, TrackingProvider] = {}
    if config.kuaidi100.configured:
        made["kuaidi100"] = Kuaidi100(config.kuaidi100, lambda: session, timeout)
    if config.kdniao.configured:
        made["kdniao"] = Kdniao(config.kdniao, lambda: session, timeout)
    return ProviderChain([made[name] for name in config.providers if name in made])


def settings_of(config: TrackingConfig) -> TrackingSettings:
    return TrackingSettings(
        poll_interval_s=config.poll_interval_s, fresh_s=config.fresh_s,
        verify_after_s=config.verify_after_s, callback_base=config.callback_base,
        query_limit=config.query_limit, proof_attempts=config.proof_attempts)


def install_tracking(app: web.Application) -> None:
    async def tracking_ctx(app: web.Application) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            scheduler = await _start(app, stack)
            yield
            scheduler.shutdown(wait=False)

    tracking_ctx.__name__ = "_tracking_ctx"
    names = [getattr(entry, "__name__", "") for entry in app.cleanup_ctx]
    index = names.index("_workers_ctx") if "_workers_ctx" in names else len(names)
    app.cleanup_ctx.insert(index, tracking_ctx)
    app.router.add_get("/api/track", track)
    app.router.add_post("/callbacks/logistics/{provider}", callback)


async def _start(app: web.Application, stack: AsyncExitStack) -> AsyncIOScheduler:
    from bot.app import CONFIG  # the composition root's key (no import cycle)

    deps, redis = await open_desk(app, stack)
    config = app[CONFIG]
    locks: MemoryLocks | RedisLocks = MemoryLocks()
    if redis is not None:
        locks = RedisLocks(redis, prefix=f"{config.inbox.stream_prefix}:lock")
    return _scheduler(config.tracking, deps, locks)


async def open_desk(app: web.Application, stack: AsyncExitStack
                    ) -> tuple[TrackingDeps, Redis | None]:
    """This process's customer desk, its resources closed with ``stack`` (after the inbox
    workers have stopped: the caller's ``cleanup_ctx`` comes before ``_workers_ctx``).

    It sets ``app[TRACKING]`` and ``app[CHAIN]`` and hands ``app[CHAT]`` the desk and the
    platforms customers use. Resources: the providers' own HTTP session, the read engine of
    the desk's lookups, and, with the Redis inbox, a Redis client for the query rate limiter,
    so every process counts a sender's questions in the same buckets (returned for the
    caller's locks; None otherwise). Pools open connections when used: a worker process
    holds as many as its inbox workers ask at once."""
    from bot.app import CONFIG, DATABASE  # the composition root's keys (no import cycle)

    config = app[CONFIG]
    session = await stack.enter_async_context(new_session())
    limiter: RateLimiter = MemoryRateLimiter()
    redis: Redis | None = None
    if config.inbox.backend == "redis":
        redis = await stack.enter_async_context(open_redis(config.inbox.redis_url))
        limiter = RedisRateLimiter(redis, prefix=f"{config.inbox.stream_prefix}:rl")
    chain = build_providers(config.tracking, session)
    chat = app[CHAT]
    reads = create_read_engine(config.database.url, echo=config.database.echo)
    stack.push_async_callback(reads.dispose)
    deps = TrackingDeps(app[DATABASE].new_uow, chain, limiter, chat, SqlCustomerReader(reads),
                        settings_of(config.tracking))
    app[TRACKING], app[CHAIN] = deps, chain

    async def desk(message: InboundMessage, now: datetime) -> str:
        asker = Asker(message.platform, message.sender_id, can_bind=True)
        return (await answer_customer(asker, message.text, deps, now=now)).text

    platforms = customer_platforms(config)
    app[CHAT] = replace(chat, customer_desk=desk, customer_platforms=platforms)
    log.info("customer desk ready: providers %s; customers on %s",
             ", ".join(chain.names) or "none (stored traces only)", ", ".join(sorted(platforms)))
    return deps, redis


def customer_platforms(config: Config) -> frozenset[str]:
    """Where a sender outside the staff table is a customer: ``[tracking]
    customer_platforms``, and 微信客服 when it is on (its senders are WeChat users, never
    staff)."""
    kf = {KF_PLATFORM} if kf_enabled(config) else set()
    return frozenset(config.tracking.customer_platforms) | kf


def _scheduler(config: TrackingConfig, deps: TrackingDeps,
               locks: MemoryLocks | RedisLocks) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")

    async def poll() -> None:
        await _singleton(locks, "tracking:poll", lambda: poll_due(deps, now=utcnow()))

    async def silence() -> None:
        await _singleton(locks, "tracking:silence",
                         lambda: flag_silent_parcels(deps, now=utcnow()))

    scheduler.add_job(poll, "interval", seconds=config.poll_every_s, id="tracking-poll",
                      coalesce=True, max_instances=1)
    scheduler.add_job(silence, "interval", seconds=config.silence_scan_s,
                      id="tracking-silence", coalesce=True, max_instances=1)
    scheduler.start()
    return scheduler


async def _singleton(locks: MemoryLocks | RedisLocks, name: str,
                     job: Callable[[], Awaitable[object]]) -> None:
    """Run ``job`` unless another process holds the lock (it will run it this turn)."""
    lock = locks.lock(name, 120_000)
    if not await lock.acquire():
        return
    try:
        await job()
    except Exception:
        log.exception("tracking job %s failed", name)
    finally:
        await lock.release()


def client_id(request: web.Request, trusted: tuple[str, ...]) -> str:
    """The asking client: the peer address, or the first X-Forwarded-For hop when the peer
    is a trusted proxy (a mini-program backend, nginx)."""
    peer = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For", "")
    if peer in trusted and forwarded:
        return forwarded.split(",")[0].strip() or peer
    return peer


async def track(request: web.Request) -> web.Response:
    """``GET /api/track?q=...&last4=....``: the same answer a chat customer gets, as JSON
    ``{"reply": text}``; 429 when the client asks too often. HTTP askers are never bound."""
    from bot.app import CONFIG

    deps = request.app[TRACKING]
    asker = Asker("http", client_id(request, request.app[CONFIG].tracking.trusted_proxies),
                  can_bind=False)
    answer = await answer_customer(asker, request.query.get("q", "")[:200], deps,
                                   now=utcnow(), last4=request.query.get("last4"))
    return web.json_response({"reply": answer.text}, status=429 if answer.limited else 200,
                             dumps=lambda v: json.dumps(v, ensure_ascii=False))


async def callback(request: web.Request) -> web.Response:
    """A provider's push: verify the signature (a mismatch changes nothing), apply every
    report, answer what the provider expects. A push we cannot use is dead-lettered."""
    chain, name = request.app[CHAIN], request.match_info["provider"]
    provider = chain.provider(name)
    if provider is None:
        raise web.HTTPNotFound(text=f"no tracking provider {name!r} configured")
    raw = await request.read()
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    now = utcnow()
    try:
        reports = provider.read_push(form)
    except PushRejectedError as error:
        log.warning("rejected push from %s: %s", name, error)
        answer = provider.push_answer(str(error), now)
        return web.json_response(dict(answer.body), status=401,
                                 dumps=lambda v: json.dumps(v, ensure_ascii=False))
    except DomainError as error:  # a state code we do not know: keep the push for a fix
        return await _dead_letter(request, provider, name, raw, str(error), now)
    try:
        applied = await apply_push(request.app[TRACKING], reports, now=now)
    except LookupError as error:
        return await _dead_letter(request, provider, name, raw, str(error), now)
    log.info("push from %s: %s", name, ", ".join(
        f"{a.parcel.tracking_no} {a.parcel.state.value} +{a.new_lines}" for a in applied))
    answer = provider.push_answer(None, now)
    return web.json_response(dict(answer.body), status=answer.status,
                             dumps=lambda v: json.dumps(v, ensure_ascii=False))


async def _dead_letter(request: web.Request, provider: TrackingProvider, name: str,
                       raw: bytes, reason: str, now: datetime) -> web.Response:
    from bot.app import DATABASE

    log.error("push from %s kept as a dead letter: %s", name, mask_text(reason))
    async with request.app[DATABASE].new_uow() as uow:
        await uow.dead_letters.add(source=f"logistics:{name}", reason=reason, raw=raw,
                                   received_at=now,
                                   content_type=request.headers.get("Content-Type"),
                                   meta={"provider": name})
        await uow.commit()
    answer = provider.push_answer(None, now)  # kept: the provider need not retry
    return web.json_response(dict(answer.body), status=answer.status,
                             dumps=lambda v: json.dumps(v, ensure_ascii=False))
