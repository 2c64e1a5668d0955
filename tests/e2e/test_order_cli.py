"""`orderbot order show|trace` against a real database the service wrote."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from core.ingest import Arrival
from core.states import OrderState
from handlers.ingest_order import IngestOrders, ingest_orders
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWork
from tests.e2e.service import env_for, orderbot
from tests.factories import T0, make_order


async def seed(url: str) -> str:
    engine = create_engine(url)
    sessions = session_factory(engine)
    order = make_order(42, status=OrderState.PENDING_PAYMENT, paid_at=None)
    for step in (order, replace(order, status=OrderState.PAID, paid_at=T0),
                 replace(order, status=OrderState.PAID, paid_at=T0, remark="周末送")):
        await ingest_orders(IngestOrders([Arrival(step, "webhook:taobao")],
                                         T0 + timedelta(hours=1)),
                            lambda: SqlUnitOfWork(sessions))
    await engine.dispose()
    return order.channel_order_id


async def test_show_and_trace(db_url: str, engine: object, tmp_path: Path) -> None:
    order_id = await seed(db_url)
    env = env_for(db_url)
    shown = orderbot("order", "show", order_id, env=env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["channel_order_id"] == order_id and doc["status"] == "paid"
    assert doc["receiver"]["phone"] == "138****0042"  # masked unless --reveal
    assert "文三路" not in doc["receiver"]["address"]
    assert doc["_meta"]["events"] == 4 and doc["_meta"]["status_label"] == "已付款"
    revealed = json.loads(orderbot("order", "show", f"taobao:{order_id}", "--reveal", env=env,
                                   cwd=tmp_path).stdout)
    assert revealed["receiver"]["phone"] == "13800000042"

    trace = orderbot("order", "trace", order_id, env=env, cwd=tmp_path)
    assert trace.returncode == 0
    assert "待付款 -> 已付款" in trace.stdout and "changed: remark" in trace.stdout
    assert trace.stdout.strip().endswith("chain intact (4 events)")


async def test_trace_names_a_tampered_event(db_url: str, engine: object, tmp_path: Path) -> None:
    order_id = await seed(db_url)
    tamper = create_engine(db_url)
    async with tamper.begin() as conn:
        await conn.execute(text("UPDATE order_events SET data = :d WHERE seq = 3"),
                           {"d": '{"from": "pending_payment", "to": "refunded"}'})
    await tamper.dispose()
    trace = orderbot("order", "trace", order_id, env=env_for(db_url), cwd=tmp_path)
    assert trace.stdout.strip().endswith(
        "chain BROKEN at event #3: content does not match its hash (event was altered)")


def test_unknown_and_ambiguous_references(tmp_path: Path, sqlite_url: str) -> None:
    missing = orderbot("order", "show", "nope", env=env_for(sqlite_url), cwd=tmp_path)
    assert missing.returncode == 1 and "no order matches 'nope'" in missing.stderr
