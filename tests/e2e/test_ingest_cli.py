"""`orderbot ingest`, `orderbot deadletter list|replay` and `orderbot map` as a person runs them."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.commands.ingest_files import replay_dead_letter
from bot.config import load_config
from core.anomalies import AnomalyCode, open_anomaly
from core.ingest import Arrival
from core.states import OrderState
from handlers.ingest_order import IngestOrders, ingest_orders
from integrations.channels.youzan.statuses import STATUSES as YOUZAN
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


async def test_replay_after_a_mapping_fix(tmp_path: Path, sqlite_url: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A status word the table does not know yet is dead-lettered, never guessed; once the
    mapping knows it, `deadletter replay` stores the order from the kept raw body."""
    word = "WAIT_SELLER_PARTIAL_SEND"  # a word the platform added after our table was written
    raw = SAMPLE.read_text(encoding="utf-8")
    assert raw.count('"status": "WAIT_SELLER_SEND_GOODS"') >= 1
    unknown = tmp_path / "new_status.json"
    unknown.write_text(raw.replace('"status": "WAIT_SELLER_SEND_GOODS"', f'"status": "{word}"'),
                       encoding="utf-8")
    env = env_for(sqlite_url)
    first = orderbot("ingest", "--channel", "youzan", str(unknown), env=env, cwd=tmp_path)
    assert first.returncode == 1 and "dead-lettered" in first.stderr
    listed = orderbot("deadletter", "list", env=env, cwd=tmp_path).stdout
    assert word in listed and "cli:youzan" in listed
    still = orderbot("deadletter", "replay", "1", env=env, cwd=tmp_path)
    assert still.returncode == 1 and "still fails" in still.stderr and word in still.stderr

    monkeypatch.setitem(YOUZAN.table, word, OrderState.PAID)  # the fix
    out = io.StringIO()
    config = load_config(None, env)
    assert await replay_dead_letter(config, 1, out) == 0
    assert "replayed" in out.getvalue() and "0 rejected" in out.getvalue()
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            stored = (await conn.execute(text("SELECT status FROM orders"))).scalars().all()
    finally:
        await engine.dispose()
    assert sorted(stored) == ["after_sale", "paid"]  # the sample: one paid, one refunding
    assert "no dead letters waiting" in orderbot("deadletter", "list", env=env,
                                                 cwd=tmp_path).stdout


async def test_a_shipped_push_for_a_held_order_is_kept_not_dead_lettered(
        sqlite_url: str) -> None:
    """Held orders keep a channel's forward move for their release (core.held_status)."""
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
    try:
        assert not held.rejected
        async with engine.connect() as conn:
            status = (await conn.execute(text("SELECT status FROM orders"))).scalar_one()
            letters = (await conn.execute(text("SELECT count(*) FROM dead_letters"))).scalar_one()
            kinds = (await conn.execute(text("SELECT kind FROM order_events"))).scalars().all()
    finally:
        await engine.dispose()
    assert status == order.status.value and letters == 0
    assert "channel_status_deferred" in kinds


def test_map_prints_canonical_lines_with_exact_ids(tmp_path: Path) -> None:
    result = orderbot("map", "--channel", "youzan", str(SAMPLE), env=env_for("sqlite+aiosqlite:///unused.db"),
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert docs and all(doc["channel"] == "youzan" for doc in docs)
    assert {doc["channel_order_id"] for doc in docs} <= set(SAMPLE.read_text().split('"'))
