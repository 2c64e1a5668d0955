"""unified tracking: parcels (tracking number -> order, channel, carrier), their trace lines,
customer bindings (a chat sender proven to own a phone), and an index to find orders by phone

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _time(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, storage.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "parcels",
        sa.Column("id", _ID, nullable=False),
        sa.Column("carrier", sa.String(length=16), nullable=False),
        sa.Column("tracking_no", sa.String(length=64), nullable=False),
        sa.Column("order_id", _ID, nullable=True),
        sa.Column("order_key", sa.String(length=100), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("provider_state", sa.String(length=32), nullable=True),
        _time("last_trace_at", nullable=True),
        _time("checked_at", nullable=True),
        sa.Column("checked_by", sa.String(length=16), nullable=True),
        _time("next_poll_at"),
        sa.Column("poll_failures", sa.Integer(), nullable=False),
        sa.Column("subscribed", _JSON, nullable=True),
        _time("silence_flagged_at", nullable=True),
        _time("delivered_at", nullable=True),
        sa.Column("estimated_delivery", sa.Date(), nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tracking_no", "carrier", name="uq_parcels_identity"),
    )
    with op.batch_alter_table("parcels") as batch:
        batch.create_index("ix_parcels_order_id", ["order_id"], unique=False)
        batch.create_index("ix_parcels_order_key", ["order_key"], unique=False)
        batch.create_index("ix_parcels_next_poll_at", ["next_poll_at"], unique=False)
    op.create_table(
        "parcel_traces",
        sa.Column("id", _ID, nullable=False),
        sa.Column("parcel_id", _ID, nullable=False),
        _time("at"),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("area", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=24), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=40), nullable=False),
        _time("received_at"),
        sa.ForeignKeyConstraint(["parcel_id"], ["parcels.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("parcel_id", "digest", name="uq_parcel_traces_line"),
    )
    op.create_table(
        "customer_bindings",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("phone_digest", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=120), nullable=False),
        _time("bound_at"),
        sa.PrimaryKeyConstraint("platform", "sender_id", "phone_digest"),
    )
    with op.batch_alter_table("orders") as batch:
        batch.create_index("ix_orders_receiver_phone", ["receiver_phone"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_receiver_phone")
    op.drop_table("customer_bindings")
    op.drop_table("parcel_traces")
    op.drop_table("parcels")
