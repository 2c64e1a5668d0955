"""The demo feeder: after the server listens, POST generated orders to its own webhooks.

Why through HTTP and not straight into the inbox: a newcomer should see the whole path work
(signature check, queue, workers, storage), and the demo must not be a second way in. Each demo
shop gets a random per-process webhook secret (``demo_shops``), so the intake verifies demo
pushes like any other and a demo secret is worth nothing after a restart.

Wiring (composition root): ``demo_shops(config.demo)`` joins the configured shops,
``app[DEMO]``/``app[DEMO_TARGET]`` tell the feeder what to push where, and ``demo_ctx`` (an
aiohttp ``cleanup_ctx``) runs it; without those keys, or disabled, ``demo_ctx`` does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp import web

from bot.config import ShopConfig
from bot.demo.gates import run_demo_gates
from bot.demo.generator import DemoOrder, OrderGenerator, Stage, Variant, advance
from bot.demo.guide import run_demo_guide
from bot.demo.platforms import yuan
from bot.demo.pushes import signed_push
from bot.demo.settings import DemoConfig
from core.masking import mask_phone

log = logging.getLogger("orderbot.demo")

ADVANCE_SHARE = 0.3  # of the pushes: an earlier order moves on (balance paid, shipped)
MAX_PENDING = 50
SETTLE_INTERVALS = 4  # an order moves on no sooner than this many mean intervals later


@dataclass(frozen=True, slots=True)
class DemoTarget:
    """Where the feeder pushes (the service's own base URL) and as which shops."""

    base_url: str
    shops: tuple[ShopConfig, ...]

    @classmethod
    def local(cls, host: str, port: int, shops: tuple[ShopConfig, ...]) -> DemoTarget:
        """The URL to reach a server bound to ``host:port`` from the same machine."""
        reach = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104
        return cls(f"http://{reach}:{port}", shops)


DEMO = web.AppKey("demo", DemoConfig)
DEMO_TARGET = web.AppKey("demo_target", DemoTarget)


def demo_shops(demo: DemoConfig) -> list[ShopConfig]:
    """One shop per demo channel with a fresh random secret; none when the demo is off."""
    if not demo.enabled:
        return []
    return [_shop(channel) for channel in demo.channels]


def _shop(channel: str) -> ShopConfig:
    secret = secrets.token_urlsafe(24)
    if channel == "youzan":  # 有赞 signs with client id and secret: "CLIENT_ID:CLIENT_SECRET"
        secret = f"demo-youzan-client:{secret}"
    return ShopConfig(channel=channel, shop_id=f"demo-{channel}", app_key=f"demo-{channel}",
                      webhook_secret=secret)


class DemoFeeder:
    """Pushes one order about every ``interval_s`` (exponential gaps, like real arrivals)."""

    def __init__(self, demo: DemoConfig, target: DemoTarget,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._demo, self._target, self._clock = demo, target, clock
        self._rng = random.Random(demo.seed)  # noqa: S311 (made-up orders, not secrets)
        self._generator = OrderGenerator(self._rng)
        self._shops = {shop.channel: shop for shop in target.shops}
        self._channels = tuple(c for c in demo.channels if c in self._shops)
        self._pending: list[DemoOrder] = []
        self._settle = timedelta(seconds=SETTLE_INTERVALS * demo.interval_s)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._channels:
            self._task = asyncio.create_task(self._run(), name="demo-feeder")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await self._wait_until_listening(session)
            log.info("demo feeder: about one order every %.1f s to %s (%s)",
                     self._demo.interval_s, self._target.base_url, ", ".join(self._channels))
            while True:
                await asyncio.sleep(self._rng.expovariate(1 / self._demo.interval_s))
                await self._push_next(session)

    async def _wait_until_listening(self, session: aiohttp.ClientSession) -> None:
        """``cleanup_ctx`` runs before the sockets are bound: wait for ``/healthz`` to answer."""
        for attempt in itertools.count():
            try:
                async with session.get(f"{self._target.base_url}/healthz"):
                    return
            except (aiohttp.ClientError, TimeoutError):
                if attempt == 50:
                    log.warning("demo feeder: nothing answers at %s yet; still waiting",
                                self._target.base_url)
                await asyncio.sleep(0.2)

    def next_order(self, now: datetime) -> DemoOrder:
        """A step of an earlier order now and then (so orders move), else a new order."""
        ready = [i for i, o in enumerate(self._pending) if now - o.updated_at >= self._settle]
        if ready and self._rng.random() < ADVANCE_SHARE:
            earlier = self._pending.pop(self._rng.choice(ready))
            moved = advance(earlier, now)
            if moved is not None:
                return moved
        channel, variant = self._generator.choose(self._channels, self._demo.unhealthy_share,
                                                  now)
        return self._generator.order(channel, now, variant)

    async def _push_next(self, session: aiohttp.ClientSession) -> None:
        now = self._clock()
        order = self.next_order(now)
        try:
            status = await self.push(session, order, now)
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("demo %s push of %s failed: %s", order.channel, order.order_id, error)
            return
        if 200 <= status < 300 and self._may_move_on(order, now):
            self._pending = [*self._pending[-(MAX_PENDING - 1):], order]

    def paid_orders(self) -> list[DemoOrder]:
        """Healthy orders pushed as paid that will move on later, oldest (surely stored) first."""
        return [o for o in self._pending if o.stage is Stage.PAID]

    def hold(self, order: DemoOrder) -> bool:
        """Never move ``order`` on (the demo proposes to cancel it: a seller does not ship an
        order whose cancellation is pending, and a cancelled one stays cancelled). False when
        it already moved on (its next push may be on its way)."""
        kept = [o for o in self._pending if o.order_id != order.order_id]
        held, self._pending = len(kept) < len(self._pending), kept
        return held

    @staticmethod
    def _may_move_on(order: DemoOrder, now: datetime) -> bool:
        """Only healthy orders move on: an unhealthy one is held by its anomaly until a person
        fixes it, and a seller does not ship a held order (its "shipped" push would be refused
        by the state machine and dead-lettered)."""
        return order.variant is Variant.HEALTHY and advance(order, now) is not None

    async def push(self, session: aiohttp.ClientSession, order: DemoOrder,
                   now: datetime) -> int:
        """POST ``order`` to its channel's webhook as its demo shop; returns the HTTP status."""
        shop = self._shops[order.channel]
        push = signed_push(order, shop, now)
        url = f"{self._target.base_url}/webhooks/{order.channel}/{shop.shop_id}"
        async with session.post(url, data=push.body, headers=dict(push.headers),
                                params=dict(push.query)) as response:
            status = response.status
        _log_push(order, shop.shop_id, status)
        return status


def _log_push(order: DemoOrder, shop_id: str, status: int) -> None:
    """One line per push; the phone is masked here already, whatever handler is attached."""
    place = order.place.city if order.place else "无地址"
    note = "" if order.variant is Variant.HEALTHY else f" [{order.variant}]"
    level = logging.INFO if 200 <= status < 300 else logging.WARNING
    log.log(level, "demo %s order %s -> %s: %s, %d line(s), %s yuan, %s %s -> HTTP %d%s",
            order.channel, order.order_id, shop_id, order.stage, len(order.lines),
            yuan(order.paid_so_far_fen), place, mask_phone(order.phone), status, note)


async def demo_ctx(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: run the feeder while the app runs, when ``app[DEMO]`` enables it."""
    demo, target = app.get(DEMO), app.get(DEMO_TARGET)
    feeder = DemoFeeder(demo, target) if demo and demo.enabled and target else None
    gates: asyncio.Task[None] | None = None
    guide: asyncio.Task[None] | None = None
    if feeder is not None and demo is not None:
        feeder.start()
        gates = asyncio.create_task(run_demo_gates(app, feeder, demo.interval_s),
                                    name="demo-gates")  # a gated cancel for the supervisor
        guide = asyncio.create_task(run_demo_guide(app, feeder, demo.interval_s),
                                    name="demo-guide")  # what to type (tasks, customer)
    yield
    if feeder is not None:
        await feeder.stop()
    for task in (gates, guide):
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
