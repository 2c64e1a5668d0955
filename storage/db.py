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


def _sqlite(url: str) -> bool:
    """Whether ``url`` is SQLite (else PostgreSQL); any other driver is refused."""
    driver = make_url(url).drivername
    if driver not in SUPPORTED_DRIVERS:
        raise DatabaseUrlError(
            f"unsupported database driver {driver!r}; use one of {SUPPORTED_DRIVERS}"
        )
    return driver.startswith("sqlite")


def create_engine(url: str, *, echo: bool = False, **options: Any) -> AsyncEngine:
    """The main engine (units of work). PostgreSQL: no pre-ping. On asyncpg a ping is BEGIN,
    ``;``, ROLLBACK: three round trips on every checkout, i.e. every batch, outbox poll and
    timer relay round. A pooled connection that died (PostgreSQL restarted) is found dead on
    its first statement instead: SQLAlchemy invalidates the pool and ``storage.uow`` reports
    ``core.errors.ConnectionLostError`` (nothing committed), which callers retry once on a
    fresh connection (ingestion: ``handlers.ingest_order``; every other loop retries its
    round anyway)."""
    if _sqlite(url):
        return _sqlite_engine(url, echo=echo, **options)
    options.setdefault("pool_size", 10)
    options.setdefault("pool_pre_ping", False)
    return create_async_engine(url, echo=echo, **options)


def create_read_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An engine for reads that need no transaction (the customer desk): one statement, one
    round trip, on its own small pool so a burst of customers cannot starve the workers.

    A fixed pool, no overflow: a burst queues for a connection (a query holds one well under a
    millisecond) instead of opening extra ones that are closed again on return -- each is a
    new PostgreSQL backend, prepared statements and plans all made anew.

    PostgreSQL: autocommit (no BEGIN/COMMIT around a lone SELECT) and no pre-ping (on asyncpg
    a ping is BEGIN, ``;``, ROLLBACK: three round trips per checkout). A connection that died
    is detected when used: SQLAlchemy invalidates the pool and the caller retries once
    (``storage.customers``). SQLite: the same file without ``BEGIN IMMEDIATE`` (a read must
    not take the write lock; WAL lets it read beside a writer).
    """
    if _sqlite(url):
        return _sqlite_engine(url, echo=echo, immediate=False, pool_size=pool_size,
                              max_overflow=0)
    return create_async_engine(url, echo=echo, isolation_level="AUTOCOMMIT",
                               pool_pre_ping=False, pool_size=pool_size, max_overflow=0)


def _sqlite_engine(url: str, *, echo: bool, immediate: bool = True,
                   **options: Any) -> AsyncEngine:
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

    if immediate:
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
