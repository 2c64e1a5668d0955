"""Anomaly routing and SLA timers in the service: settings from config, the timer worker of
this process (``cleanup_ctx``), the timer kinds' handlers, and ``GET /metrics``.

``install_anomalies(app)`` is called by ``build_app`` and ``build_worker_app``: every process
runs a timer worker; the queue hands each due timer to one of them. Another use case adds a
timer kind with ``app[TIMER_REGISTRY].register(kind, handler)`` before start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from bot.config import Config
from bot.people_config import build_directory
from bot.routing_config import substitution_table
from bot.timer_worker import TimerSettings, TimerWorker
from core.anomaly_stats import AnomalyStats
from core.timers import STALLED_SCAN_KEY, TimerKind, stalled_scan_timer
from handlers.chat_deps import AnomalySettings, ChatDeps
from handlers.escalate import escalate_anomaly
from handlers.ports import ChatUnitOfWork, TimerQueue
from handlers.stalled import scan_stalled
from handlers.timers import TimerRegistry
from storage.anomaly_stats import anomaly_stats
from storage.inbox.wiring import open_redis
from storage.redis_timers import RedisTimerQueue
from storage.timers import SqlTimerQueue

log = logging.getLogger("orderbot.timers")

Clock = Callable[[], datetime]
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
TIMER_REGISTRY = web.AppKey("timer_registry", TimerRegistry)
TIMER_WORKER = web.AppKey("timer_worker", TimerWorker)


def utcnow() -> datetime:
    return datetime.now(UTC)


def anomaly_settings(config: Config) -> AnomalySettings:
    routing = config.routing
    return AnomalySettings(routing=routing.table(),
                           substitutes=substitution_table(config.substitutes),
                           prompt_ttl_s=routing.prompt_ttl_s,
                           stalled_scan_s=routing.stalled_scan_s,
                           health=config.health.rules(), stock=config.health.stock)


def install_anomalies(app: web.Application, *, clock: Clock | None = None,
                      metrics: bool = True) -> None:
    app[CLOCK] = clock or utcnow
    app[TIMER_REGISTRY] = _registry(app)
    app.cleanup_ctx.append(_timers_ctx)
    if metrics:
        app.router.add_get("/metrics", metrics_view)


def _chat_lookup(app: web.Application) -> Callable[[], ChatDeps]:
    """The chat deps when a timer fires: the app's (set at start-up by the chat ctx), else
    built once from config (a process without chat installed still writes cards to the
    outbox; the process running the sender delivers them)."""
    built: list[ChatDeps] = []

    def chat() -> ChatDeps:
        from bot.app import CONFIG, DATABASE
        from bot.chat import CHAT

        if CHAT in app:
            return app[CHAT]
        if not built:
            config, database = app[CONFIG], app[DATABASE]
            platforms = ("webchat", *(p for p in ("dingtalk", "wecom")
                                      if getattr(config, p).enabled))
            built.append(ChatDeps(build_directory(config.people), database.new_uow,
                                  platforms=platforms, anomalies=anomaly_settings(config)))
        return built[0]

    return chat


def _registry(app: web.Application) -> TimerRegistry:
    """The built-in kinds; their deps are looked up when a timer fires (set at start-up)."""
    registry = TimerRegistry()
    _chat = _chat_lookup(app)

    async def escalate(uow: ChatUnitOfWork, timer: object, now: datetime) -> None:
        await escalate_anomaly(uow, timer, _chat(), now=now)  # type: ignore[arg-type]

    async def stalled(uow: ChatUnitOfWork, timer: object, now: datetime) -> None:
        await scan_stalled(uow, timer, _chat(), now=now)  # type: ignore[arg-type]

    registry.register(TimerKind.ESCALATE_ANOMALY, escalate)
    registry.register(TimerKind.STALLED_SCAN, stalled)
    return registry


async def _timers_ctx(app: web.Application) -> AsyncIterator[None]:
    from bot.app import CONFIG, DATABASE

    config, database = app[CONFIG], app[DATABASE]
    backend = config.timers.backend or config.inbox.backend
    async with contextlib.AsyncExitStack() as stack:
        queue: TimerQueue = SqlTimerQueue(database.engine)
        if backend == "redis":
            redis = await stack.enter_async_context(open_redis(config.inbox.redis_url,
                                                               max_connections=10))
            queue = RedisTimerQueue(redis, database.engine,
                                    prefix=f"{config.inbox.stream_prefix}:timers")
        worker = TimerWorker(queue, app[TIMER_REGISTRY], database.new_uow, app[CLOCK],
                             timer_settings(config))
        app[TIMER_WORKER] = worker
        await _first_stalled_scan(database.new_uow, config, app[CLOCK]())
        task = asyncio.create_task(worker.run(), name="timer-worker")
        log.info("timer worker started (%s queue)", backend)
        yield
        worker.stop()
        try:
            await asyncio.wait_for(task, timeout=2)
        except TimeoutError:
            log.warning("timer worker did not stop in time; cancelled")


def timer_settings(config: Config) -> TimerSettings:
    """``[timers]``; one firing transaction at a time on SQLite (one writer: more would
    only queue on its lock)."""
    timers = config.timers
    sqlite = config.database.url.startswith("sqlite")
    return TimerSettings(lease_s=timers.lease_s, batch=timers.batch,
                         max_sleep_s=timers.max_sleep_ms / 1000,
                         parallel=1 if sqlite else timers.parallel)


async def _first_stalled_scan(new_uow: Callable[[], ChatUnitOfWork], config: Config,
                              now: datetime) -> None:
    """The scan timer exists once (a restart does not push it back)."""
    if config.routing.stalled_scan_s <= 0:
        return
    async with new_uow() as uow:
        if await uow.timers.get(STALLED_SCAN_KEY) is None:
            await uow.timers.set([stalled_scan_timer(
                now + timedelta(seconds=config.routing.stalled_scan_s))], at=now)
            await uow.commit()


async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus text format, computed from the database at each scrape (every process
    reports the same figures: scrape one)."""
    from bot.app import DATABASE

    stats = await anomaly_stats(request.app[DATABASE].engine)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(stats))
    return web.Response(body=generate_latest(registry),
                        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


class _Collector:
    def __init__(self, stats: AnomalyStats) -> None:
        self._stats = stats

    def collect(self) -> list[Metric]:
        stats = self._stats
        opened = GaugeMetricFamily("orderbot_anomalies_open", "Open anomalies.",
                                   labels=["class", "code"])
        for (klass, code), count in sorted(stats.open_by_code.items()):
            opened.add_metric([klass, code], count)
        closed = CounterMetricFamily("orderbot_anomalies_closed", "Closed anomalies by how.",
                                     labels=["resolution"])
        for how, count in sorted(stats.closed_by.items()):
            closed.add_metric([how], count)
        hits = CounterMetricFamily("orderbot_health_rule_hits",
                                   "Health-check findings by rule, code and mode (shadow rules "
                                   "are only counted, never open an anomaly).",
                                   labels=["rule", "code", "mode"])
        for (rule, code, mode), count in sorted(stats.rule_hits.items()):
            hits.add_metric([rule, code, mode], count)
        rate = stats.self_healing_rate
        mean = stats.mean_first_action_s
        return [
            opened, closed, hits,
            CounterMetricFamily("orderbot_anomalies_opened", "Anomalies opened.",
                                value=stats.opened),
            GaugeMetricFamily("orderbot_anomaly_self_healing_ratio",
                              "Closed automatically or by one tap on the suggestion / all "
                              "closed (NaN before any closed).",
                              value=float("nan") if rate is None else rate),
            GaugeMetricFamily("orderbot_anomaly_first_action_seconds_mean",
                              "Mean seconds from opening to the first action (NaN: none yet).",
                              value=float("nan") if mean is None else mean),
            CounterMetricFamily("orderbot_anomaly_escalations", "Escalations (SLA missed).",
                                value=stats.escalations),
        ]
