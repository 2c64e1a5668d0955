"""Bulk writes. PostgreSQL gets binary ``COPY`` through the session's own asyncpg connection
(same transaction, a fraction of the client CPU of multi-row INSERTs); other databases get a
plain executemany. Ingestion is the hot path that needs this."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import JSON, Table, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ConcurrencyError


def is_postgres(session: AsyncSession) -> bool:
    bind = session.get_bind()
    return bind.dialect.name == "postgresql"


async def _asyncpg(session: AsyncSession) -> asyncpg.Connection:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def allocate_ids(session: AsyncSession, table: Table, count: int) -> list[int] | None:
    """``count`` fresh primary keys from the table's sequence (PostgreSQL), else None."""
    if not is_postgres(session) or count == 0:
        return None
    query = text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "  # noqa: S608
                 "FROM generate_series(1, :n)")
    return list((await session.execute(query, {"n": count})).scalars())


async def bulk_insert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys). A unique-key clash raises ConcurrencyError."""
    if not rows:
        return
    if not is_postgres(session):
        await session.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSON)}
    records = [
        tuple(_json(row[c]) if c in json_columns else row[c] for c in columns) for row in rows
    ]
    try:
        await (await _asyncpg(session)).copy_records_to_table(
            table.name, records=records, columns=columns
        )
    except asyncpg.UniqueViolationError as error:
        raise ConcurrencyError(f"conflicting write: {error}") from error


def _json(value: Any) -> str | None:
    # The jsonb codec SQLAlchemy installs on asyncpg connections takes JSON text.
    return None if value is None else json.dumps(value, ensure_ascii=False)
