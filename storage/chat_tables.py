"""Persistence model of the cards we sent (migration 0005), on the shared metadata."""

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
