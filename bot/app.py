"""The composition root: config -> concrete objects -> aiohttp application.

This is the only module that instantiates storage and integration classes; a test swaps any
of them by building the app with other objects. One ``cleanup_ctx`` per long-lived resource,
set up before ``yield`` and torn down after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import __version__
from bot.anomaly_wiring import CLOCK, install_anomalies
from bot.chat import CHAT, install_chat
from bot.chat_cards import dead_letter_digests, digest_interval_s, worker_chat_ctx
from bot.config import Config
from bot.demo.feeder import DEMO, DEMO_TARGET, DemoTarget, demo_ctx, demo_shops
from bot.demo.people import demo_people
from bot.demo.setup import demo_stock_ctx, with_demo
from bot.gate_wiring import install_gates
from bot.outbox_sender import SenderSettings
from bot.polling import POLLERS, Locks, PollDeps, add_poll_jobs, cancel_polls
from bot.task_wiring import install_tasks
from bot.tracking import install_tracking
from bot.webhooks import INBOX, INTAKE
from bot.webhooks import routes as webhook_routes
from bot.workers import Worker, WorkerSettings, utcnow
from core.inbox import Envelope
from handlers.ports import ChatSender, InboxConsumer
from handlers.process_inbox import InboxDeps, dead_letter, process_batch
from integrations.channels.base import ShopCredentials
from integrations.http import new_session
from integrations.intake import ChannelIntake, Shop
from storage.db import create_engine, schema_version, session_factory
from storage.inbox.coalesce import CoalescingPut
from storage.inbox.sql import SqlInbox
from storage.inbox.wiring import InboxSettings, open_inbox
from storage.locks import deployment_locks
from storage.migrate import head_revision
from storage.poll_cursors import SqlPollCursors
from storage.uow import SqlUnitOfWork

log = logging.getLogger("orderbot.app")

@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    new_uow: Callable[[], SqlUnitOfWork]


CONFIG = web.AppKey("config", Config)
DATABASE = web.AppKey("database", Database)
CONSUMER = web.AppKey("consumer", InboxConsumer)


class SchemaOutOfDateError(RuntimeError):
    """The database is not at the migration head this code needs."""


def open_database(config: Config) -> Database:
    engine = create_engine(config.database.url, echo=config.database.echo)
    sessions = session_factory(engine)
    return Database(engine, lambda: SqlUnitOfWork(sessions))


async def require_current_schema(database: Database) -> str:
    current, head = await schema_version(database.engine), head_revision()
    if current != head:
        raise SchemaOutOfDateError(
            f"database schema is at {current or 'nothing'}, this version needs {head}: "
            "run `orderbot db upgrade`"
        )
    return current


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    database = open_database(app[CONFIG])
    try:
        await require_current_schema(database)
        app[DATABASE] = database
        yield
    finally:
        await database.engine.dispose()


async def healthz(request: web.Request) -> web.Response:
    """Liveness plus versions: 200 when the database answers at the expected schema."""
    database = request.app[DATABASE]
    schema, head = await schema_version(database.engine), head_revision()
    ok = schema == head
    body = {"status": "ok" if ok else "degraded", "app": __version__, "schema": schema,
            "schema_head": head}
    return web.json_response(body, status=200 if ok else 503)


def inbox_settings(config: Config) -> InboxSettings:
    inbox = config.inbox
    return InboxSettings(backend=inbox.backend, redis_url=inbox.redis_url,
                         key_prefix=f"{inbox.stream_prefix}:inbox",
                         dedup_ttl_s=inbox.dedup_ttl_s, poll_ms=inbox.poll_ms)


def make_intake(config: Config, session: Callable[[], aiohttp.ClientSession]) -> ChannelIntake:
    shops = [Shop(ShopCredentials(s.channel, s.shop_id, s.app_key, s.app_secret,
                                  s.access_token or None, s.api_base), s.webhook_secret)
             for s in config.shops]
    return ChannelIntake(shops, session)


async def _http_ctx(app: web.Application) -> AsyncIterator[None]:
    session = new_session()
    app[INTAKE] = make_intake(app[CONFIG], lambda: session)
    yield
    await session.close()


async def _inbox_ctx(app: web.Application) -> AsyncIterator[None]:
    async with open_inbox(inbox_settings(app[CONFIG]), engine=app[DATABASE].engine) as inbox:
        app[INBOX] = CoalescingPut(inbox)  # producers (webhooks, chat) share round trips
        app[CONSUMER] = inbox
        yield


def locks_url(config: Config) -> str | None:
    """Where singleton locks live: the inbox's Redis, or nowhere shared (embedded)."""
    return config.inbox.redis_url if config.inbox.backend == "redis" else None


async def _scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Periodic jobs (apscheduler, in-process). Singleton jobs take a Redis lock when several
    processes share one Redis."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    inbox, config = app[CONSUMER], app[CONFIG]
    if isinstance(inbox, SqlInbox):
        scheduler.add_job(inbox.prune, "interval", hours=1, id="inbox-prune",
                          coalesce=True, max_instances=1)
    scheduler.add_job(dead_letter_digests, "interval", seconds=digest_interval_s(config),
                      args=[app], id="dead-letter-digests", coalesce=True, max_instances=1)
    async with contextlib.AsyncExitStack() as stack:
        locks: Locks = await deployment_locks(stack, locks_url(config),
                                              config.inbox.stream_prefix, max_connections=20)
        session = await stack.enter_async_context(new_session())
        deps = PollDeps(lambda: session, app[INBOX], SqlPollCursors(app[DATABASE].engine), locks,
                        utcnow)
        app[POLLERS] = add_poll_jobs(scheduler, shops=config.shops, deps=deps)
        scheduler.start()
        yield
        scheduler.shutdown(wait=False)
        await cancel_polls(list(app[POLLERS].values()))


async def _workers_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[CONFIG].inbox
    deps = InboxDeps(app[INTAKE], app[DATABASE].new_uow, chat=app.get(CHAT))

    clock = app.get(CLOCK, utcnow)  # tests move time (SLA timers) instead of sleeping

    async def handle(envelopes: Sequence[Envelope]) -> None:
        await process_batch(envelopes, deps, now=clock())

    async def poison(envelope: Envelope, reason: str) -> None:
        await dead_letter(envelope, reason, deps, now=utcnow())

    worker_settings = WorkerSettings(batch=settings.batch, reclaim_idle_s=settings.reclaim_idle_s,
                                     max_attempts=settings.max_attempts,
                                     linger_ms=settings.linger_ms)
    taking = asyncio.Lock()  # one worker of this process at a time waits for new work
    workers = [Worker(f"{socket.gethostname()}-{os.getpid()}-{n}", app[CONSUMER], handle,
                      poison, worker_settings, taking) for n in range(settings.workers)]
    tasks = [asyncio.create_task(worker.run(), name=worker.name) for worker in workers]
    yield
    for worker in workers:
        worker.stop()
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=2)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def build_app(config: Config, *, chat_senders: Mapping[str, ChatSender] | None = None,
              sender_settings: SenderSettings | None = None,
              clock: Callable[[], datetime] | None = None) -> web.Application:
    """The service. ``chat_senders``/``sender_settings`` replace the platform senders built
    from config (tests pass fakes here: one call swaps the outside world); ``clock`` the
    time the workers and SLA timers see (tests advance it instead of sleeping)."""
    demo = tuple(demo_shops(config.demo))  # () unless [demo] enabled
    config = with_demo(replace(config, shops=config.shops + demo,
                               people=demo_people(config.demo.enabled, config.people)))
    app = web.Application()
    app[CONFIG] = config
    app[DEMO] = config.demo
    app[DEMO_TARGET] = DemoTarget.local(config.server.host, config.server.port, demo)
    app.cleanup_ctx.extend([_database_ctx, demo_stock_ctx, _http_ctx, _inbox_ctx,
                            _scheduler_ctx, _workers_ctx, demo_ctx])  # demo last: stops first
    # web chat, outbox sender, platform senders (before the workers)
    install_chat(app, senders=chat_senders, settings=sender_settings)
    install_tracking(app)  # customer desk, /api/track, provider callbacks, tracking jobs
    app.router.add_get("/healthz", healthz)
    app.router.add_routes(webhook_routes())
    install_anomalies(app, clock=clock)  # SLA timer worker, /metrics
    install_gates(app)  # gated actions: their expiry timer kind
    install_tasks(app)  # chat tasks: settings, intent warm-up, their overdue timer kind
    return app


def build_worker_app(config: Config) -> web.Application:
    """The same resources and workers as the service, without HTTP routes: ``orderbot worker``
    processes added next to one ``orderbot run`` scale ingestion across cores and machines."""
    app = web.Application()
    app[CONFIG] = config
    app.cleanup_ctx.extend([_database_ctx, _http_ctx, _inbox_ctx, worker_chat_ctx,
                            _workers_ctx])  # workers announce cards too (run delivers them)
    install_anomalies(app, metrics=False)  # SLA timers fire in every process, once each
    install_gates(app)
    install_tasks(app)
    return app


async def serve_workers(config: Config) -> None:
    """Run workers until SIGINT/SIGTERM, at ``[inbox] worker_nice`` below normal priority.

    Why lower: storing can wait (the push is already durable on the inbox) while a platform
    waits for its webhook's ack; on a host they share, the web process should win the CPU
    whenever both want it. Paced 1,000
    pushes/s on the loaded 2-core machine, eight phases each: ack p99 median ~80 ms with
    the workers at nice 0, ~22 ms at nice 5 (the same CPU per order either way)."""
    if config.inbox.worker_nice > 0 and hasattr(os, "nice"):
        os.nice(config.inbox.worker_nice)
    app = build_worker_app(config)
    app.on_startup.append(freeze_startup_heap)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info("orderbot %s worker started (%d tasks, inbox %s)", __version__,
             config.inbox.workers, config.inbox.backend)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def run(config: Config) -> None:
    """Serve until SIGINT/SIGTERM; shutdown waits at most ``server.shutdown_timeout_s``."""
    server = config.server

    def announce(_: str) -> None:
        log.info("orderbot %s listening on http://%s:%d", __version__, server.host, server.port)

    app = build_app(config)
    app.on_startup.append(freeze_startup_heap)
    web.run_app(app, host=server.host, port=server.port, print=announce,
                shutdown_timeout=server.shutdown_timeout_s, access_log=None,
                loop=new_event_loop())


async def freeze_startup_heap(_: web.Application) -> None:
    """Move everything alive after start-up (~160,000 objects: imported modules, jieba's and
    the intent reader's tables, the division table) out of the cyclic GC's reach.

    Why: a full (gen 2) collection walks every tracked object. In the ingest bench (a burst,
    then 1,000 pushes/s) the web process and each worker ran one or two while loaded, each
    taking 330-610 ms on the busy 2-core machine, and every webhook arriving meanwhile waited
    that long; frozen, the same collections took 3-7 ms. Frozen objects are still freed by
    reference counting; only cycles among them would be kept. Only the CLI's long-lived
    processes call this (last ``on_startup`` hook), never ``build_app``, so test processes
    building many apps keep the default collector."""
    gc.collect()
    gc.freeze()
    log.debug("gc: %d start-up objects frozen", gc.get_freeze_count())


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where available (about twice the request rate of the stdlib loop)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
