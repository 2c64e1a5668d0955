"""Persistence models of unified tracking (migration 0008), on the shared metadata: parcels,
their trace lines, and customer bindings. Also the index that finds orders by receiver phone
(a customer may ask by phone), declared here with the feature that needs it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from storage.tables import OrderRow
from storage.types import BigId, JsonDoc, UTCDateTime

Index("ix_orders_receiver_phone", OrderRow.__table__.c.receiver_phone)  # type: ignore[attr-defined]


def _time(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class ParcelRow(SQLModel, table=True):
    """A tracking number bound to an order, channel and carrier, with where it stands.
    ``tracking_no`` leads the unique key: customers ask by the number alone."""

    __tablename__ = "parcels"
    __table_args__ = (UniqueConstraint("tracking_no", "carrier", name="uq_parcels_identity"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    carrier: str = Field(sa_column=Column(String(16), nullable=False))
    tracking_no: str = Field(sa_column=Column(String(64), nullable=False))
    order_id: int | None = Field(default=None, sa_column=Column(
        BigId, ForeignKey("orders.id", ondelete="CASCADE"), nullable=True, index=True))
    order_key: str | None = Field(default=None, sa_column=Column(String(100), index=True))
    channel: str | None = Field(default=None, sa_column=Column(String(32)))
    source: str = Field(sa_column=Column(String(32), nullable=False))
    state: str = Field(sa_column=Column(String(24), nullable=False))
    provider_state: str | None = Field(default=None, sa_column=Column(String(32)))
    last_trace_at: datetime | None = _time(nullable=True)
    checked_at: datetime | None = _time(nullable=True)
    checked_by: str | None = Field(default=None, sa_column=Column(String(16)))
    next_poll_at: datetime = _time(index=True)
    poll_failures: int = Field(sa_column=Column(Integer, nullable=False))
    subscribed: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonDoc))
    silence_flagged_at: datetime | None = _time(nullable=True)
    delivered_at: datetime | None = _time(nullable=True)
    estimated_delivery: date | None = Field(default=None, sa_column=Column(Date))
    created_at: datetime = _time()
    updated_at: datetime = _time()


class ParcelTraceRow(SQLModel, table=True):
    """One scan, once (``digest`` = time + text), whichever provider reported it first."""

    __tablename__ = "parcel_traces"
    __table_args__ = (UniqueConstraint("parcel_id", "digest", name="uq_parcel_traces_line"),
                      Index("ix_parcel_traces_parcel_at", "parcel_id", "at", "id"))

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    parcel_id: int = Field(sa_column=Column(
        BigId, ForeignKey("parcels.id", ondelete="CASCADE"), nullable=False))
    at: datetime = _time()
    context: str = Field(sa_column=Column(Text, nullable=False))
    area: str | None = Field(default=None, sa_column=Column(String(128)))
    state: str | None = Field(default=None, sa_column=Column(String(24)))
    provider: str = Field(sa_column=Column(String(16), nullable=False))
    digest: str = Field(sa_column=Column(String(40), nullable=False))
    received_at: datetime = _time()


class CustomerBindingRow(SQLModel, table=True):
    """A chat sender who proved a receiver phone (last 4 digits with its order number): their
    later questions about that phone's orders need no proof. Only the phone's SHA-256."""

    __tablename__ = "customer_bindings"

    platform: str = Field(sa_column=Column(String(16), primary_key=True))
    sender_id: str = Field(sa_column=Column(String(128), primary_key=True))
    phone_digest: str = Field(sa_column=Column(String(64), primary_key=True))
    via: str = Field(sa_column=Column(String(120), nullable=False))
    bound_at: datetime = _time()

