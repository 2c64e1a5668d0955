"""The demo's gated cancel: so that `make run` shows a supervisor confirming one in the page.

A few intervals after the feeder starts, and then now and again, the system proposes to cancel
one of the healthy paid demo orders, as if the buyer had asked for it in the channel's chat.
The proposal goes through the real use case (``handlers/propose_gate``): the demo supervisor
(李四) gets the card in the web chat with 确认 / 拒绝, and confirming cancels the order through
the state machine. The card's reason says it is demo data. The feeder holds that order back
(it is never shipped), so a cancelled demo order never receives a "shipped" push.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Protocol

from aiohttp import web

from bot.demo.generator import DemoOrder
from core.gating import GateError, GateKind
from core.states import OrderState
from handlers.chat_deps import ChatDeps
from handlers.propose_gate import GateRequest, propose_gate

log = logging.getLogger("orderbot.demo")

FIRST_AFTER = 8  # mean intervals after start: the first orders are stored by then
EVERY = 100  # mean intervals between proposals (about 5 minutes at the default 3 s)
REASON = "买家在渠道留言申请取消（演示数据）"
EVIDENCE = (("买家留言", "拍错了，不想要了，麻烦取消"), ("来源", "演示"))
_CANCELLABLE = frozenset({OrderState.PAID, OrderState.AWAITING_ALLOCATION})


class PaidOrders(Protocol):
    """What the demo feeder offers: its healthy paid orders, and holding one back."""

    def paid_orders(self) -> list[DemoOrder]: ...

    def hold(self, order: DemoOrder) -> bool: ...


async def propose_one(deps: ChatDeps, feeder: PaidOrders, now: datetime) -> int | None:
    """Propose to cancel a paid order that is stored and still cancellable. The order is held
    back from the feeder *before* anything is awaited, so no "shipped" push can race the
    cancellation (an order held for nothing just stays paid)."""
    for order in feeder.paid_orders():
        if not feeder.hold(order):
            continue  # moved on meanwhile
        key = f"{order.channel}:{order.order_id}"
        async with deps.new_uow() as uow:
            stored = await uow.orders.get(key)
        if stored is None or stored.order.status not in _CANCELLABLE:
            continue
        try:
            proposal = await propose_gate(GateRequest(GateKind.CANCEL, REASON, order_key=key,
                                                      evidence=EVIDENCE), None, deps, now=now)
        except GateError as error:  # e.g. one is already open for this order
            log.info("demo gate for %s not proposed: %s", key, error)
            continue
        log.info("demo: proposed gated cancel #%s of %s", proposal.id, key)
        return proposal.id
    return None


async def run_demo_gates(app: web.Application, feeder: PaidOrders, interval_s: float) -> None:
    """The loop ``demo_ctx`` runs next to the feeder (cancelled with it)."""
    from bot.chat import CHAT  # set by the chat ctx once the app has started

    await asyncio.sleep(FIRST_AFTER * interval_s)
    while True:
        deps = app.get(CHAT)
        proposed = deps is not None and await propose_one(deps, feeder,
                                                          datetime.now(UTC)) is not None
        await asyncio.sleep((EVERY if proposed else 1) * interval_s)
