"""The composition root: config -> concrete objects -> aiohttp application.

This is the only module that instantiates storage and integration classes; a test swaps any
of them by building the app with other objects. One ``cleanup_ctx`` per long-lived resource,
set up before ``yield`` and torn down after it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import __version__
from bot.config import Config
from storage.db import create_engine, schema_version, session_factory
from storage.migrate import head_revision
from storage.uow import SqlUnitOfWork

log = logging.getLogger("orderbot.app")

@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    new_uow: Callable[[], SqlUnitOfWork]


CONFIG = web.AppKey("config", Config)
DATABASE = web.AppKey("database", Database)


class SchemaOutOfDateError(RuntimeError):
    """The database is not at the migration head this code needs."""


def open_database(config: Config) -> Database:
    engine = create_engine(config.database.url, echo=config.database.echo)
    sessions = session_factory(engine)
    return Database(engine, lambda: SqlUnitOfWork(sessions))


async def require_current_schema(database: Database) -> str:
    current, head = await schema_version(database.engine), head_revision()
    if current != head:
        raise SchemaOutOfDateError(
            f"database schema is at {current or 'nothing'}, this version needs {head}: "
            "run `orderbot db upgrade`"
        )
    return current


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    database = open_database(app[CONFIG])
    try:
        await require_current_schema(database)
        app[DATABASE] = database
        yield
    finally:
        await database.engine.dispose()


async def healthz(request: web.Request) -> web.Response:
    """Liveness plus versions: 200 when the database answers at the expected schema."""
    database = request.app[DATABASE]
    schema, head = await schema_version(database.engine), head_revision()
    ok = schema == head
    body = {"status": "ok" if ok else "degraded", "app": __version__, "schema": schema,
            "schema_head": head}
    return web.json_response(body, status=200 if ok else 503)


def build_app(config: Config) -> web.Application:
    app = web.Application()
    app[CONFIG] = config
    app.cleanup_ctx.append(_database_ctx)
    app.router.add_get("/healthz", healthz)
    return app


def run(config: Config) -> None:
    """Serve until SIGINT/SIGTERM; shutdown waits at most ``server.shutdown_timeout_s``."""
    server = config.server

    def announce(_: str) -> None:
        log.info("orderbot %s listening on http://%s:%d", __version__, server.host, server.port)

    web.run_app(build_app(config), host=server.host, port=server.port, print=announce,
                shutdown_timeout=server.shutdown_timeout_s, access_log=None)
