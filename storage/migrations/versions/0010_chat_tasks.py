"""Chat tasks (急单, 改地址, ... typed by staff) and the order's allocation priority

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26

``tasks`` existed since 0001 (the tracking verification task writes it); a task typed in chat
also needs: its order key (found without a join), who asked and who claimed it, the owning
role, the card that shows it, a version (compare-and-set on every state change: two taps, one
winner), when and by whom it was closed, and ``source_ref`` (platform + message id, unique: a
redelivered chat message makes one task, not two).

``orders.priority`` is what the allocation queue orders by (higher first, then oldest):
急单 raises it. There is no allocation service yet; the index is the queue it will read.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("order_key", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("owner_role", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("requested_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("card_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False,
                                   server_default="1"))
        batch.add_column(sa.Column("source_ref", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("updated_at", _TIME, nullable=True))
        batch.add_column(sa.Column("closed_at", _TIME, nullable=True))
        batch.add_column(sa.Column("closed_by", sa.String(length=128), nullable=True))
        batch.create_index("ix_tasks_order_key_status", ["order_key", "status"])
        batch.create_index("ix_tasks_requested_by_status", ["requested_by", "status"])
        batch.create_index("ux_tasks_source_ref", ["source_ref"], unique=True)
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.create_index("ix_orders_allocation_queue", ["status", "priority", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_allocation_queue")
        batch.drop_column("priority")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ux_tasks_source_ref")
        batch.drop_index("ix_tasks_requested_by_status")
        batch.drop_index("ix_tasks_order_key_status")
        for column in ("closed_by", "closed_at", "updated_at", "source_ref", "version",
                       "card_id", "claimed_by", "requested_by", "owner_role", "order_key"):
            batch.drop_column(column)
