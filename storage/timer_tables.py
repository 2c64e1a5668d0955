"""Persistence models of SLA timers and chat prompts (migration 0009), on the shared metadata."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class TimerRow(SQLModel, table=True):
    """A pending deadline. Deleted when it fires (with the effect) or is cancelled.
    ``claimed_until``: the SQL queue's lease; ``relayed``: copied to the Redis queue."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "due_at"),
                      Index("ix_timers_relay", "relayed", "due_at"))

    key: str = Field(sa_column=Column(String(160), primary_key=True))
    kind: str = Field(sa_column=Column(String(40), nullable=False))
    ref: str = Field(sa_column=Column(String(200), nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    relayed: bool = Field(sa_column=Column(Boolean, nullable=False))
    failures: int = Field(sa_column=Column(Integer, nullable=False))  # handler errors so far
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PromptRow(SQLModel, table=True):
    """The bot asked a person in a conversation for a value ("请回复收货地址") after a tap on a
    card; their next message there is the answer, until ``expires_at``."""

    __tablename__ = "chat_prompts"

    platform: str = Field(sa_column=Column(String(16), primary_key=True))
    conversation: str = Field(sa_column=Column(String(200), primary_key=True))
    person_id: str = Field(sa_column=Column(String(128), nullable=False))
    card_id: str = Field(sa_column=Column(String(64), nullable=False))
    anomaly_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    field: str = Field(sa_column=Column(String(32), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
