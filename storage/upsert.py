"""Dialect-specific ``INSERT ... ON CONFLICT`` (SQLite and PostgreSQL share the syntax, not
the SQLAlchemy construct)."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Table, TextClause, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession, table: Table) -> Any:
    """``insert(table)`` of the session's dialect, with ``on_conflict_do_*`` available."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)



@functools.cache
def insert_ignoring(table: Table, conflict: tuple[str, ...], columns: tuple[str, ...]
                    ) -> TextClause:
    """``INSERT (columns) ... ON CONFLICT (conflict) DO NOTHING`` with one named parameter per
    column (typed as the column), the same text on SQLite and PostgreSQL.

    Why text: SQLAlchemy 2.0's dialect ``insert`` constructs have no cache key (``inherit_cache
    = False``), so an upsert built with them is compiled anew on every execution (about a
    millisecond per ingest batch); a text statement is compiled once and then cached."""
    return _insert(table, conflict, columns, "DO NOTHING")


@functools.cache
def upsert_adding(table: Table, conflict: tuple[str, ...], columns: tuple[str, ...],
                  added: tuple[str, ...]) -> TextClause:
    """``INSERT ... ON CONFLICT (conflict) DO UPDATE SET c = table.c + excluded.c`` for each
    column in ``added`` (counters), as cacheable text (see ``insert_ignoring``)."""
    sets = ", ".join(f"{_name(table, c)} = {table.name}.{c} + excluded.{c}" for c in added)
    return _insert(table, conflict, columns, f"DO UPDATE SET {sets}")


@functools.cache
def upsert_replacing(table: Table, conflict: tuple[str, ...], columns: tuple[str, ...],
                     replaced: tuple[str, ...]) -> TextClause:
    """``INSERT ... ON CONFLICT (conflict) DO UPDATE SET c = excluded.c`` for each column in
    ``replaced`` (the new row wins), as cacheable text (see ``insert_ignoring``)."""
    sets = ", ".join(f"{_name(table, c)} = excluded.{_name(table, c)}" for c in replaced)
    return _insert(table, conflict, columns, f"DO UPDATE SET {sets}")


def _insert(table: Table, conflict: tuple[str, ...], columns: tuple[str, ...], action: str
            ) -> TextClause:
    names = ", ".join(_name(table, c) for c in columns)
    values = ", ".join(f":{c}" for c in columns)
    keys = ", ".join(_name(table, c) for c in conflict)
    # Identifiers only, each checked to be a column of the table; values are bound parameters.
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({values}) ON CONFLICT ({keys}) {action}"  # noqa: S608
    return text(sql).bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))


def _name(table: Table, column: str) -> str:
    """``column`` if it is one of ``table``'s columns (a KeyError otherwise)."""
    return str(table.c[column].name)
