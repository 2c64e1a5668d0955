"""Shared fixtures: real SQLite files and a real PostgreSQL database per test session.

PostgreSQL runs on 127.0.0.1:5432 (``ORDERBOT_TEST_PG_DSN`` overrides the admin DSN). A test
that needs it fails, never skips, when the server is down: ``.ci/run`` starts it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.tables import metadata
from storage.uow import SqlUnitOfWork

PG_ADMIN = os.environ.get("ORDERBOT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


async def _pg_admin(statement: str) -> None:
    try:
        conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        raise RuntimeError(f"PostgreSQL is required at {PG_ADMIN} ({error}); run .ci/run or "
                           "start it with pg_ctlcluster") from error
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def in_thread(function: Callable[[], object]) -> None:
    """Run blocking set-up (``asyncio.run`` inside) even when an event loop is running here:
    session fixtures may first be requested from inside an async test."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(function).result()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh migrated database for this session, dropped at the end."""
    name = f"orderbot_test_{os.getpid()}"
    host = PG_ADMIN.split("@", 1)[1].rsplit("/", 1)[0]
    user = PG_ADMIN.split("://", 1)[1].split("@", 1)[0]
    url = f"postgresql+asyncpg://{user}@{host}/{name}"

    def create() -> None:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        upgrade(url)

    in_thread(create)
    yield url
    in_thread(lambda: asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test copies the file (migrations run once, tests stay isolated)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    in_thread(lambda: upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "orderbot.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(fixture))


async def fresh_engine(url: str) -> AsyncEngine:
    """An engine on ``url``; the shared PostgreSQL test database is emptied first."""
    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        tables = ", ".join(t.name for t in metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return engine


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def new_uow(engine: AsyncEngine) -> Callable[[], SqlUnitOfWork]:
    sessions = session_factory(engine)
    return lambda: SqlUnitOfWork(sessions)
