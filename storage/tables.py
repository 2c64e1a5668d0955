"""Persistence models (sqlmodel tables). Repositories map them to and from ``core`` objects;
nothing outside ``storage/`` sees these classes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from storage.types import BigId, JsonDoc, UTCDateTime

metadata = SQLModel.metadata


def _time(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _fen() -> Any:
    return Field(sa_column=Column(BigInteger(), nullable=False))


def _json(*, nullable: bool = False) -> Any:
    return Field(sa_column=Column(JsonDoc, nullable=nullable))


def _fk(target: str, *, nullable: bool = False, index: bool = True) -> Any:
    return Field(
        sa_column=Column(
            BigId, ForeignKey(target, ondelete="CASCADE"), nullable=nullable, index=index
        )
    )


class OrderRow(SQLModel, table=True):
    __tablename__ = "orders"
    # channel_order_id leads: lookups by a typed order number use this index too.
    __table_args__ = (UniqueConstraint("channel_order_id", "channel", name="uq_orders_identity"),
                      Index("ix_orders_allocation_queue", "status", "priority", "created_at"))

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    channel: str = Field(sa_column=Column(String(32), nullable=False))
    channel_order_id: str = Field(sa_column=Column(String(64), nullable=False))
    status: str = Field(sa_column=Column(String(32), nullable=False))
    channel_status: str | None = Field(default=None, sa_column=Column(String(64)))
    buyer_id: str | None = Field(default=None, sa_column=Column(String(128)))
    receiver_name: str | None = Field(default=None, sa_column=Column(Text))
    receiver_phone: str | None = Field(default=None, sa_column=Column(String(256)))
    receiver_province: str | None = Field(default=None, sa_column=Column(String(64)))
    receiver_city: str | None = Field(default=None, sa_column=Column(String(64)))
    receiver_district: str | None = Field(default=None, sa_column=Column(String(64)))
    receiver_address: str | None = Field(default=None, sa_column=Column(Text))
    total_fen: int = _fen()
    paid_fen: int = _fen()
    freight_fen: int = _fen()
    created_at: datetime = _time(index=True)
    paid_at: datetime | None = _time(nullable=True)
    presale: bool = Field(sa_column=Column(Boolean, nullable=False))
    remark: str | None = Field(default=None, sa_column=Column(Text))
    invoice: dict[str, Any] | None = _json(nullable=True)
    dup_key: str | None = Field(default=None, sa_column=Column(String(40), index=True))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    head_seq: int = Field(sa_column=Column(Integer, nullable=False))
    head_hash: str = Field(sa_column=Column(String(64), nullable=False))
    updated_at: datetime = _time()
    # migration 0010: what the allocation queue orders by (higher first; 急单 raises it)
    priority: int = Field(default=0, sa_column=Column(Integer, nullable=False,
                                                      server_default="0"))


class OrderLineRow(SQLModel, table=True):
    __tablename__ = "order_lines"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    order_id: int = _fk("orders.id")
    position: int = Field(sa_column=Column(Integer, nullable=False))
    sku: str = Field(sa_column=Column(String(128), nullable=False, index=True))
    channel_sku_id: str | None = Field(default=None, sa_column=Column(String(128)))
    title: str | None = Field(default=None, sa_column=Column(Text))
    quantity: int = Field(sa_column=Column(Integer, nullable=False))
    unit_price_fen: int = _fen()
    paid_fen: int = _fen()


class OrderEventRow(SQLModel, table=True):
    __tablename__ = "order_events"
    __table_args__ = (UniqueConstraint("order_id", "seq", name="uq_order_events_seq"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    order_id: int = _fk("orders.id", index=False)  # uq_order_events_seq indexes it
    order_key: str = Field(sa_column=Column(String(100), nullable=False))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    at: datetime = _time()
    actor: str = Field(sa_column=Column(String(128), nullable=False))
    kind: str = Field(sa_column=Column(String(64), nullable=False))
    data: dict[str, Any] = _json()
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class AnomalyRow(SQLModel, table=True):
    __tablename__ = "anomalies"
    __table_args__ = (Index("ix_anomalies_order_status", "order_id", "status"),
                      Index("ix_anomalies_opened_at", "opened_at"))

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    order_id: int = _fk("orders.id", index=False)  # ix_anomalies_order_status covers it
    order_key: str = Field(sa_column=Column(String(100), nullable=False))
    code: str = Field(sa_column=Column(String(48), nullable=False, index=True))
    klass: str = Field(sa_column=Column(String(1), nullable=False))
    blocking: bool = Field(sa_column=Column(Boolean, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    data: dict[str, Any] = _json()
    opened_at: datetime = _time()
    resolved_at: datetime | None = _time(nullable=True)
    resolved_by: str | None = Field(default=None, sa_column=Column(String(128)))
    # migration 0009: routing and metrics (escalations so far, owning role, first tap, how
    # it was closed)
    level: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    owner_role: str | None = Field(default=None, sa_column=Column(String(16)))
    first_action_at: datetime | None = _time(nullable=True)
    resolution: str | None = Field(default=None, sa_column=Column(String(16)))


class TaskRow(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_order_key_status", "order_key", "status"),
                      Index("ix_tasks_requested_by_status", "requested_by", "status"),
                      Index("ux_tasks_source_ref", "source_ref", unique=True))

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    order_id: int | None = _fk("orders.id", nullable=True)
    kind: str = Field(sa_column=Column(String(48), nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    priority: str = Field(sa_column=Column(String(16), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    owner: str | None = Field(default=None, sa_column=Column(String(128)))
    deadline: datetime | None = _time(nullable=True)
    source_text: str | None = Field(default=None, sa_column=Column(Text))
    data: dict[str, Any] = _json()
    created_at: datetime = _time()
    # migration 0010: chat tasks (core.tasks): who asked, who claimed, the card, a version for
    # compare-and-set, the message it came from (unique: a redelivery makes no second task)
    order_key: str | None = Field(default=None, sa_column=Column(String(100)))
    owner_role: str | None = Field(default=None, sa_column=Column(String(16)))
    requested_by: str | None = Field(default=None, sa_column=Column(String(128)))
    claimed_by: str | None = Field(default=None, sa_column=Column(String(128)))
    card_id: str | None = Field(default=None, sa_column=Column(String(64)))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False,
                                                     server_default="1"))
    source_ref: str | None = Field(default=None, sa_column=Column(String(200)))
    updated_at: datetime | None = _time(nullable=True)
    closed_at: datetime | None = _time(nullable=True)
    closed_by: str | None = Field(default=None, sa_column=Column(String(128)))


class OutboxRow(SQLModel, table=True):
    """A card or message to send, written in the same transaction as the change behind it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_conversation", "conversation", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    platform: str = Field(sa_column=Column(String(16), nullable=False))
    conversation: str = Field(sa_column=Column(String(200), nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    payload: dict[str, Any] = _json()
    order_id: int | None = _fk("orders.id", nullable=True)
    status: str = Field(sa_column=Column(String(16), nullable=False))
    attempts: int = Field(sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = _time()
    created_at: datetime = _time()
    sent_at: datetime | None = _time(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    # migration 0005: the card a row carries (so an update reaches every holder), the
    # delivery latency, and the platform's handle of what was sent (WeCom response_code).
    card_id: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    latency_ms: int | None = Field(default=None, sa_column=Column(Integer))
    delivery_ref: str | None = Field(default=None, sa_column=Column(String(200)))


class DeadLetterRow(SQLModel, table=True):
    """A payload we could not process, kept whole with the reason, for replay after a fix."""

    __tablename__ = "dead_letters"
    # a redelivered payload is kept once; rows from before 0006 may have a NULL digest
    __table_args__ = (
        Index("ux_dead_letters_source_digest", "source", "digest", unique=True),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    source: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    digest: str | None = Field(default=None, sa_column=Column(String(64)))  # SHA-256 of raw
    content_type: str | None = Field(default=None, sa_column=Column(String(100)))
    received_at: datetime = _time(index=True)
    replayed_at: datetime | None = _time(nullable=True)
    replay_result: str | None = Field(default=None, sa_column=Column(Text))
    meta: dict[str, Any] | None = _json(nullable=True)  # channel, shop, query, headers


class SnapshotRow(SQLModel, table=True):
    """A raw payload exactly as a channel sent it (zlib), addressed by its SHA-256. Events
    name the snapshot they came from, so a disputed price or address can be shown as sent."""

    __tablename__ = "snapshots"

    digest: str = Field(sa_column=Column(String(64), primary_key=True))
    channel: str = Field(sa_column=Column(String(32), nullable=False))
    content_type: str | None = Field(default=None, sa_column=Column(String(100)))
    size: int = Field(sa_column=Column(Integer, nullable=False))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = _time()


class ChannelCounterRow(SQLModel, table=True):
    """Per channel and Beijing day: received = stored + duplicates + dead_lettered."""

    __tablename__ = "channel_counters"

    day: date = Field(sa_column=Column(Date, primary_key=True))
    channel: str = Field(sa_column=Column(String(32), primary_key=True))
    received: int = Field(sa_column=Column(BigInteger, nullable=False))
    stored: int = Field(sa_column=Column(BigInteger, nullable=False))
    duplicates: int = Field(sa_column=Column(BigInteger, nullable=False))
    dead_lettered: int = Field(sa_column=Column(BigInteger, nullable=False))
    late: int = Field(sa_column=Column(BigInteger, nullable=False))


class PollCursorRow(SQLModel, table=True):
    """Where one shop's order polling stands: the next window starts at ``last_end`` minus the
    overlap. ``last_end`` is NULL until a run succeeded; a failed run keeps it and records
    ``last_error``, so the next run retries the same window (no gaps)."""

    __tablename__ = "poll_cursors"

    channel: str = Field(sa_column=Column(String(32), primary_key=True))
    shop_id: str = Field(sa_column=Column(String(128), primary_key=True))
    last_end: datetime | None = _time(nullable=True)
    last_run_at: datetime = _time()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
