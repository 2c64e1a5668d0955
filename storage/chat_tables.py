"""Persistence models of the cards we sent (migration 0005) and of card pacing windows
(0006), on the shared metadata."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Integer, String
from sqlmodel import Field, SQLModel

from storage.types import JsonDoc, UTCDateTime


class CardRow(SQLModel, table=True):
    """A card as last rendered (``doc``), its version (compare-and-set on every click) and who
    handled it. Who holds it is in ``outbox`` (rows with this ``card_id``)."""

    __tablename__ = "cards"

    card_id: str = Field(sa_column=Column(String(64), primary_key=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    ref: str = Field(sa_column=Column(String(100), nullable=False))
    order_key: str | None = Field(default=None, sa_column=Column(String(100), index=True))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    doc: dict[str, Any] = Field(sa_column=Column(JsonDoc, nullable=False))
    handled_by: str | None = Field(default=None, sa_column=Column(String(128)))
    handled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CardWindowRow(SQLModel, table=True):
    """How many cards of one kind went out in one fixed window (every process shares it), and
    when the window's digest was sent (NULL: none yet, or none needed)."""

    __tablename__ = "card_windows"

    kind: str = Field(sa_column=Column(String(32), primary_key=True))
    window_start: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    count: int = Field(sa_column=Column(Integer, nullable=False))
    digest_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
