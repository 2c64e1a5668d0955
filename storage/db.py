"""Engines and sessions for the two supported databases.

* ``sqlite+aiosqlite:///var/orderbot.db``: the embedded default. WAL, foreign keys on, and
  ``BEGIN IMMEDIATE`` so a writer takes the lock up front instead of failing on upgrade.
* ``postgresql+asyncpg://user@host/db``: production.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


class DatabaseUrlError(ValueError):
    """The database URL names a driver we do not support."""


def create_engine(url: str, *, echo: bool = False, **options: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise DatabaseUrlError(
            f"unsupported database driver {parsed.drivername!r}; use one of {SUPPORTED_DRIVERS}"
        )
    if parsed.drivername.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo, **options)
    options.setdefault("pool_size", 10)
    options.setdefault("pool_pre_ping", True)
    return create_async_engine(url, echo=echo, **options)


def _sqlite_engine(url: str, *, echo: bool, **options: Any) -> AsyncEngine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def schema_version(engine: AsyncEngine) -> str | None:
    """The applied alembic revision, or None before ``orderbot db upgrade``."""
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return result.scalar_one_or_none()
    except SQLAlchemyError:
        return None
