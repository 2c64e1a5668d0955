"""chat: outbox card id, latency and delivery ref; cards we sent

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("card_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("latency_ms", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("delivery_ref", sa.String(length=200), nullable=True))
        batch.create_index(batch.f("ix_outbox_card_id"), ["card_id"], unique=False)
    op.create_table(
        "cards",
        sa.Column("card_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("order_key", sa.String(length=100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                "postgresql"), nullable=False),
        sa.Column("handled_by", sa.String(length=128), nullable=True),
        sa.Column("handled_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("card_id"),
    )
    with op.batch_alter_table("cards") as batch:
        batch.create_index(batch.f("ix_cards_order_key"), ["order_key"], unique=False)


def downgrade() -> None:
    op.drop_table("cards")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index(batch.f("ix_outbox_card_id"))
        batch.drop_column("delivery_ref")
        batch.drop_column("latency_ms")
        batch.drop_column("card_id")
