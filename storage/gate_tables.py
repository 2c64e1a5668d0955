"""Persistence model of gated-action proposals (migration 0007), on the shared metadata."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, String, Text
from sqlmodel import Field, SQLModel

from storage.types import BigId, JsonDoc, UTCDateTime


class GateProposalRow(SQLModel, table=True):
    """One proposal. ``state`` only changes by a conditional UPDATE on its current value
    (``storage.gates.SqlGates.transition``): that is what makes a confirmation execute once."""

    __tablename__ = "gate_proposals"
    __table_args__ = (
        Index("ix_gate_proposals_state_deadline", "state", "deadline"),
        Index("ix_gate_proposals_kind_decided", "kind", "decided_at"),
        Index("ix_gate_proposals_order_key", "order_key"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    order_key: str | None = Field(default=None, sa_column=Column(String(100)))
    subject: str | None = Field(default=None, sa_column=Column(String(128)))
    params: dict[str, Any] = Field(sa_column=Column(JsonDoc, nullable=False))
    evidence: dict[str, Any] = Field(sa_column=Column(JsonDoc, nullable=False))
    proposer: str = Field(sa_column=Column(String(128), nullable=False))
    proposed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    deadline: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    decided_by: str | None = Field(default=None, sa_column=Column(String(128)))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    executed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    note: str | None = Field(default=None, sa_column=Column(Text))
    card_id: str | None = Field(default=None, sa_column=Column(String(64)))
