"""Shared steps of the gated-action tests: staff, orders, a proposal, a click, counting."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.chat import CardAction, format_payload
from core.gating import GateKind, Proposal
from core.ingest import Arrival
from core.order import Order
from core.people import Directory, Person, Role
from handlers.chat_deps import ChatDeps
from handlers.ingest_order import IngestOrders, ingest_orders
from handlers.propose_gate import GateRequest, propose_gate
from storage.uow import SqlUnitOfWork
from tests.factories import T0

AGENT = Person("zhangsan", "张三", frozenset({Role.AGENT}))
BOSS = Person("lisi", "李四", frozenset({Role.SUPERVISOR, Role.AGENT}))
FINANCE = Person("sunba", "孙八", frozenset({Role.FINANCE}))
WAREHOUSE = Person("wangwu", "王五", frozenset({Role.WAREHOUSE}))
# twenty supervisors for the concurrency test: each taps 确认 once, all at the same time
BOSSES = tuple(Person(f"boss{n:02d}", f"主管{n:02d}", frozenset({Role.SUPERVISOR}))
               for n in range(20))
STAFF = Directory([AGENT, BOSS, FINANCE, WAREHOUSE, *BOSSES])

UowFactory = Callable[[], SqlUnitOfWork]


def chat_deps(new_uow: UowFactory, **changes: Any) -> ChatDeps:
    return ChatDeps(STAFF, new_uow, **changes)


async def ingest(new_uow: UowFactory, *orders: Order) -> None:
    arrivals = [Arrival(order, "test") for order in orders]
    await ingest_orders(IngestOrders(arrivals, T0), new_uow)


async def cancel_proposal(deps: ChatDeps, order: Order, *, by: Person | None = AGENT,
                          at: datetime = T0) -> Proposal:
    request = GateRequest(GateKind.CANCEL, "客户来电要求取消", order_key=order.key,
                          evidence=(("来电", "10:01 客户本人"),))
    return await propose_gate(request, by, deps, now=at)


def tap(proposal: Proposal, person: Person, verb: str = "gate_confirm", *,
        at: datetime = T0, callback_id: str = "") -> CardAction:
    """A web chat click on the proposal's card, as the web chat route builds it."""
    card_id = proposal.card_id or ""
    return CardAction(platform="webchat", callback_id=callback_id or uuid.uuid4().hex,
                      card_id=card_id, action=verb, payload=format_payload(card_id, verb),
                      actor_id=person.id, card_version=1, at=at)


async def count(engine: AsyncEngine, sql: str, **params: object) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar_one())


async def events(engine: AsyncEngine, key: str, kind: str, **data: str) -> int:
    """Events of ``kind`` on an order whose data has every ``data`` item."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT data FROM order_events WHERE order_key = :k AND kind = :kind"),
            {"k": key, "kind": kind})).scalars().all()
    return sum(all(_json(row).get(k) == v for k, v in data.items()) for row in rows)


async def texts_to(engine: AsyncEngine, person: Person) -> list[str]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT payload FROM outbox WHERE conversation = :c AND kind = 'text' ORDER BY id"),
            {"c": person.id})).scalars().all()
    return [str(_json(row)["text"]) for row in rows]


async def card_rows(engine: AsyncEngine, card_id: str, kind: str) -> list[dict[str, Any]]:
    """The outbox rows carrying ``card_id`` of ``kind`` (card / card_update)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT conversation, payload FROM outbox WHERE card_id = :c AND kind = :k "
            "ORDER BY id"), {"c": card_id, "k": kind})).all()
    return [{"to": row[0], "card": _json(row[1])["card"]} for row in rows]


def _json(value: Any) -> dict[str, Any]:
    """A JSON column read by raw SQL: a dict on PostgreSQL (JSONB), text on SQLite."""
    return dict(json.loads(value) if isinstance(value, str) else value)
