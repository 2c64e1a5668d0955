"""Alembic environment: runs migrations on the async engine the service uses."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import storage.chat_tables  # (puts the cards table on the shared metadata)
import storage.health_tables  # (health rule hits, stock levels)
import storage.inbox.tables  # (puts the inbox tables on the shared metadata)
import storage.kf_tables  # (微信客服 sync cursors)
import storage.timer_tables  # (timers, chat prompts)
import storage.tracking_tables  # noqa: F401  (parcels, traces, customer bindings)
from storage.db import create_engine
from storage.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic: sqlalchemy.url is not set")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run them online")
run()
