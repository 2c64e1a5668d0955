"""Card delivery latency: order event -> card received by the (fake) platform.

200 events/s for 10 s, open loop (each event starts on its own timetable slot, whether or not
earlier ones are done). An event is a suspected duplicate found by ingestion: the real
``announce_duplicate`` step writes the card and its outbox row and commits, and the real
outbox sender delivers it through the real WeCom client (``message/send`` template_card) to
the fake WeCom API, on PostgreSQL. The events are produced in a second process, as ingestion
runs in ``orderbot worker`` processes beside the web process that sends: as in the service,
the sender is woken by the commits' NOTIFY (``storage.outbox_wakeups``), its poll (the default
0.2 s) only a safety net; in one process the use cases and the sender share one core and
saturate it at this rate (p99 of seconds). Latency = the fake's receipt of the card - the
start of the commit: the commit itself counts (stamped after it, the producer's own delay in
resuming was subtracted, and a card woken by NOTIFY could arrive "before" its commit: p50
-0.7 ms in one loaded run). Each card goes to the order's owning agent, one of 500: WeCom allows
30 messages/min per member and the outbox paces to that, so one member cannot take 200
cards/s. Target: ``card_delivery_p99_ms`` < 500.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context

from aiohttp import web

from bench.common import Figure, postgres_database
from bot.app import freeze_startup_heap
from bot.chat_senders import WeComSender
from bot.outbox_sender import OutboxSender, SenderSettings
from bot.wecom.api import WeComApi
from bot.wecom.settings import WeComSettings
from core.anomalies import Anomaly, AnomalyCode
from core.ingest import Arrival
from core.people import Directory, Person, Role
from handlers.announce import announce_duplicate
from handlers.chat_deps import ChatDeps, random_card_id
from handlers.ingest_order import IngestOrders, ingest_orders
from storage.db import create_engine, session_factory
from storage.outbox_wakeups import listen
from storage.uow import SqlUnitOfWork
from tests.factories import make_order
from tests.fakes.wecom import FakeWeCom

RATE = 200  # events per second
SECONDS = 10
STAFF = 500
ORDERS = 1_000
SEND = "/cgi-bin/message/send"


@dataclass
class Slot:
    """One event's card id and commit time (per producer task, via a context variable)."""

    card_id: str = ""
    committed: float = 0.0


_slot: ContextVar[Slot] = ContextVar("slot")


@dataclass
class TimedWeCom(FakeWeCom):
    """The fake WeCom, stamping when each template card arrives (by its card id)."""

    received: dict[str, float] = field(default_factory=dict)

    async def _api(self, request: web.Request) -> web.Response:
        stamp = time.perf_counter()
        body = await request.json()
        if request.path == SEND and body.get("msgtype") == "template_card":
            self.received[body["template_card"]["task_id"].rsplit("@", 1)[0]] = stamp
        return await super()._api(request)


def owners() -> list[Directory]:
    """One directory per owning agent: the card of an order goes to its own agent only."""
    return [Directory([Person(id=f"agent{n}", name=f"客服{n}", roles=frozenset({Role.AGENT}),
                              wecom_user_id=f"Agent{n}")]) for n in range(STAFF)]


def new_card_id(prefix: str) -> str:
    card_id = random_card_id(prefix)
    _slot.get().card_id = card_id
    return card_id


async def seed(url: str) -> None:
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        arrivals = [Arrival(make_order(n), "bench") for n in range(ORDERS)]
        await ingest_orders(IngestOrders(arrivals, datetime.now(UTC)),
                            lambda: SqlUnitOfWork(sessions))
    finally:
        await engine.dispose()


def anomaly(n: int) -> Anomaly:
    order, now = make_order(n % ORDERS), datetime.now(UTC)
    return Anomaly(f"jd:{order.channel_order_id}", AnomalyCode.SUSPECTED_DUPLICATE, True, now,
                   "同一买家在 taobao 的订单与本单商品相同", {"other": order.key}, id=n + 1)


async def event(n: int, deps: ChatDeps, slots: list[Slot]) -> None:
    """What ingestion does for a new suspected duplicate: card + outbox row, one commit."""
    slot = Slot()
    _slot.set(slot)
    async with deps.new_uow() as uow:
        await announce_duplicate(uow, anomaly(n), deps, now=datetime.now(UTC))
        slot.committed = time.perf_counter()
        await uow.commit()
    deps.queued()
    slots.append(slot)


async def produce(deps: list[ChatDeps]) -> list[Slot]:
    """Open loop: event ``n`` starts at ``start + n / RATE`` however long earlier ones take."""
    loop = asyncio.get_running_loop()
    slots: list[Slot] = []
    tasks: list[asyncio.Task[None]] = []
    start = loop.time()
    for n in range(RATE * SECONDS):
        await asyncio.sleep(max(0.0, start + n / RATE - loop.time()))
        tasks.append(asyncio.create_task(event(n, deps[n % STAFF], slots)))
    await asyncio.gather(*tasks)
    return slots


def produce_in_process(url: str) -> tuple[dict[str, float], float]:
    """The ingestion side in its own process (as ``orderbot worker`` runs it): card id ->
    commit time (``perf_counter`` is CLOCK_MONOTONIC: comparable across processes)."""
    async def main() -> tuple[dict[str, float], float]:
        engine = create_engine(url)
        sessions = session_factory(engine)
        deps = [ChatDeps(owner, lambda: SqlUnitOfWork(sessions), platforms=("wecom",),
                         new_card_id=new_card_id) for owner in owners()]
        await freeze_startup_heap(web.Application())  # started, as ``orderbot worker`` does
        began = time.perf_counter()
        slots = await produce(deps)
        rate = len(slots) / (time.perf_counter() - began)
        await engine.dispose()
        return {s.card_id: s.committed for s in slots}, rate

    return asyncio.run(main())


async def measure(url: str) -> tuple[list[float], float]:
    """Per-card latencies in ms, and the event rate the producer achieved."""
    engine = create_engine(url)  # the pool the service uses
    sessions = session_factory(engine)
    fake = TimedWeCom()
    async with fake:
        settings = WeComSettings(enabled=True, corp_id=fake.corp_id, agent_id=1000002,
                                 secret=fake.secret, token="t", encoding_aes_key="a" * 43,
                                 api_base=fake.base_url)
        async with WeComApi(settings, attempts=1) as api:
            sender = OutboxSender(lambda: SqlUnitOfWork(sessions), {"wecom": WeComSender(api)},
                                  SenderSettings())
            # Started: as ``orderbot run`` does, out of the collector's reach from now on (else
            # each run's first full collection, 65-85 ms CPU, stalled the loop 220-450 ms on
            # the loaded machine and every card in flight with it).
            await freeze_startup_heap(web.Application())
            running = asyncio.create_task(sender.run())
            listening = asyncio.create_task(listen(url, sender.wake))  # as bot.chat wires it
            with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                committed, rate = await asyncio.get_running_loop().run_in_executor(
                    pool, produce_in_process, url)
                # Leaving the ``with`` joins the producer process, blocking this loop (sender
                # and fake platform) for as long as it takes to exit: 0.17-1.7 s measured,
                # added to every card still in flight. So every card is in first.
                await _until_delivered(fake, committed)
            sender.stop()
            await running
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)
    await engine.dispose()
    return [(fake.received[card] - at) * 1000 for card, at in committed.items()], rate


async def _until_delivered(fake: TimedWeCom, cards: dict[str, float], within: float = 30
                           ) -> None:
    deadline = time.perf_counter() + within
    while any(card not in fake.received for card in cards):
        if time.perf_counter() > deadline:
            missing = sum(card not in fake.received for card in cards)
            raise RuntimeError(f"{missing} cards not delivered within {within}s")
        await asyncio.sleep(0.05)


async def run() -> list[Figure]:
    async with postgres_database("orderbot_bench_cards") as url:
        await seed(url)
        try:
            latencies, rate = await measure(url)
        finally:
            gc.unfreeze()  # the benches run after this one in this process start as they did
    cuts = statistics.quantiles(latencies, n=100)
    print(f"# {len(latencies)} cards at {rate:.0f} events/s: p50 {cuts[49]:.1f} ms, "
          f"p99 {cuts[98]:.1f} ms, max {max(latencies):.1f} ms", file=sys.stderr)
    return [Figure("card_delivery_p99_ms", round(cuts[98], 1), "ms"),
            Figure("card_delivery_p50_ms", round(cuts[49], 1), "ms")]
