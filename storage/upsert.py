"""Dialect-specific ``INSERT ... ON CONFLICT`` (SQLite and PostgreSQL share the syntax, not
the SQLAlchemy construct)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession, table: Table) -> Any:
    """``insert(table)`` of the session's dialect, with ``on_conflict_do_*`` available."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
