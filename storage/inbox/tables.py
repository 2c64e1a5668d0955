"""Persistence models of the SQL inbox (migration 0002). They share ``SQLModel.metadata`` with
``storage/tables.py``; ``storage/migrations/env.py`` imports this module so autogenerate sees
them.

``inbox`` holds only unacked work (ack deletes), so it stays small and the take query stays
cheap. ``inbox_seen`` remembers dedup keys for a TTL after the ack, so a platform that
redelivers a message we already processed still gets "duplicate".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from storage.types import BigId, UTCDateTime


class InboxRow(SQLModel, table=True):
    """One queued envelope; ``consumer`` is NULL until taken. SQLite gets AUTOINCREMENT so an
    id is never reused: a late ack of an old id must not delete a newer message."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_ready", "consumer", "id"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    dedup_key: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(64), nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON text, kept verbatim
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    consumer: str | None = Field(default=None, sa_column=Column(String(128)))
    claimed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True)
    )
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))


class InboxSeenRow(SQLModel, table=True):
    """A dedup key and when it may be forgotten (``SqlInbox.prune`` deletes expired rows)."""

    __tablename__ = "inbox_seen"

    dedup_key: str = Field(sa_column=Column(String(200), primary_key=True))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
