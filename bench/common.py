"""Shared pieces for benchmarks: figures, throwaway databases."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from storage.migrate import upgrade

PG_ADMIN = os.environ.get("ORDERBOT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@asynccontextmanager
async def postgres_database(name: str) -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database; dropped afterwards."""
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{name}"')
    host = PG_ADMIN.split("@", 1)[1].rsplit("/", 1)[0]
    user = PG_ADMIN.split("://", 1)[1].split("@", 1)[0]
    url = f"postgresql+asyncpg://{user}@{host}/{name}"
    try:
        import asyncio

        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def sqlite_database() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        import asyncio

        await asyncio.to_thread(upgrade, url)
        yield url
