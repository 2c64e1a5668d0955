"""`orderbot ingest`, `orderbot deadletter list|replay` and `orderbot map` as a person runs them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from core.anomalies import AnomalyCode, open_anomaly
from core.ingest import Arrival
from core.states import OrderState
from handlers.ingest_order import IngestOrders, ingest_orders
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWork
from tests.e2e.service import env_for, orderbot
from tests.factories import T0, make_order

DATA = Path(__file__).resolve().parents[1] / "data" / "channels"
SAMPLE = DATA / "youzan" / "trades_sold_get_single_line_and_refunding.json"


def test_ingest_a_file_twice_then_a_broken_one(tmp_path: Path, sqlite_url: str) -> None:
    env = env_for(sqlite_url)
    first = orderbot("ingest", "--channel", "youzan", str(SAMPLE), env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    created = int(first.stdout.split(" created")[0])
    assert created >= 2 and first.stdout.strip().endswith("0 rejected")
    again = orderbot("ingest", "--channel", "youzan", str(SAMPLE), env=env, cwd=tmp_path)
    assert again.stdout.startswith(f"0 created, 0 updated, {created} unchanged")
    broken = tmp_path / "broken.json"
    broken.write_text('{"success": true, "data": {"full_order_info_list": [{"oops": 1}]}}')
    bad = orderbot("ingest", "--channel", "youzan", str(broken), env=env, cwd=tmp_path)
    assert bad.returncode == 1 and "dead-lettered" in bad.stderr
    listed = orderbot("deadletter", "list", env=env, cwd=tmp_path)
    assert "cli:youzan" in listed.stdout and "open" in listed.stdout
    still = orderbot("deadletter", "replay", "1", env=env, cwd=tmp_path)
    assert still.returncode == 1 and "still fails" in still.stderr


async def test_replay_after_the_cause_is_fixed(tmp_path: Path, sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    sessions = session_factory(engine)
    order = make_order(77)
    at = T0 + timedelta(hours=1)
    await ingest_orders(IngestOrders([Arrival(order, "webhook:taobao")], at),
                        lambda: SqlUnitOfWork(sessions))
    async with SqlUnitOfWork(sessions) as uow:
        await uow.orders.load_many([order.key])
        await uow.orders.add_anomaly(open_anomaly(order.key, AnomalyCode.ADDRESS_MISSING,
                                                  at=at, reason="地址缺失"))
        await uow.commit()
    shipped = replace(order, status=OrderState.IN_TRANSIT)
    held = await ingest_orders(IngestOrders([Arrival(shipped, "webhook:taobao")], at),
                               lambda: SqlUnitOfWork(sessions))
    assert "held by ADDRESS_MISSING" in held.rejected[0].reason
    env = env_for(sqlite_url)
    assert "held by ADDRESS_MISSING" in orderbot("deadletter", "list", env=env,
                                                 cwd=tmp_path).stdout
    async with engine.begin() as conn:  # an agent fixed the address: the anomaly is resolved
        await conn.execute(text("UPDATE anomalies SET status = 'resolved'"))
    await engine.dispose()
    replayed = orderbot("deadletter", "replay", "1", env=env, cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    assert "0 created, 1 updated" in replayed.stdout
    shown = json.loads(orderbot("order", "show", order.key, env=env, cwd=tmp_path).stdout)
    assert shown["status"] == "in_transit"
    assert "no dead letters waiting" in orderbot("deadletter", "list", env=env,
                                                 cwd=tmp_path).stdout


def test_map_prints_canonical_lines_with_exact_ids(tmp_path: Path) -> None:
    result = orderbot("map", "--channel", "youzan", str(SAMPLE), env=env_for("sqlite+aiosqlite:///unused.db"),
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert docs and all(doc["channel"] == "youzan" for doc in docs)
    assert {doc["channel_order_id"] for doc in docs} <= set(SAMPLE.read_text().split('"'))
