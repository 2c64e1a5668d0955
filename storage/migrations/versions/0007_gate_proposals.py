"""gated actions: proposals a supervisor confirms or rejects (cancel, refund, merge, ...)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

One row per proposal. ``state`` moves proposed -> confirmed -> executed, or proposed ->
rejected | expired, only by a conditional UPDATE on the current state (storage/gates.py), so two
simultaneous confirmations have one winner. ``(state, deadline)`` finds open proposals (the
expiry itself is a durable timer, migration 0009), ``(kind, decided_at)`` the 90-day accuracy.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gate_proposals",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("order_key", sa.String(length=100), nullable=True),
        sa.Column("subject", sa.String(length=128), nullable=True),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("evidence", _JSON, nullable=False),
        sa.Column("proposer", sa.String(length=128), nullable=False),
        sa.Column("proposed_at", _TIME, nullable=False),
        sa.Column("deadline", _TIME, nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", _TIME, nullable=True),
        sa.Column("executed_at", _TIME, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("card_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gate_proposals") as batch:
        batch.create_index("ix_gate_proposals_state_deadline", ["state", "deadline"])
        batch.create_index("ix_gate_proposals_kind_decided", ["kind", "decided_at"])
        batch.create_index("ix_gate_proposals_order_key", ["order_key"])


def downgrade() -> None:
    op.drop_table("gate_proposals")
