"""SLA timers, chat prompts, and what anomaly routing records (level, first action, resolution)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25

``timers`` is the durable record of every pending deadline (SLA escalation, stalled scan, gate
expiry): written in the same transaction as the change that sets it, deleted in the same
transaction as the effect of firing it, so a timer fires at most once in effect and is never
lost. The SQL queue claims rows by a lease (``claimed_until``); with the Redis queue a relay
copies rows to a sorted set (``relayed``). ``chat_prompts`` remembers that a person tapped
"已补录" and the bot waits for their reply (the fix value). The anomaly columns feed routing
(escalation ``level``, ``owner_role``) and the metrics (first action, how it was resolved).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "timers",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("due_at", _TIME, nullable=False),
        sa.Column("claimed_until", _TIME, nullable=True),
        sa.Column("relayed", sa.Boolean(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("timers") as batch:
        batch.create_index("ix_timers_due", ["due_at"])
        batch.create_index("ix_timers_relay", ["relayed", "due_at"])
    op.create_table(
        "chat_prompts",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("conversation", sa.String(length=200), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=False),
        sa.Column("card_id", sa.String(length=64), nullable=False),
        sa.Column("anomaly_id", sa.BigInteger(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("platform", "conversation"),
    )
    with op.batch_alter_table("anomalies") as batch:
        batch.add_column(sa.Column("level", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("owner_role", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("first_action_at", _TIME, nullable=True))
        batch.add_column(sa.Column("resolution", sa.String(length=16), nullable=True))
        batch.create_index("ix_anomalies_opened_at", ["opened_at"])


def downgrade() -> None:
    with op.batch_alter_table("anomalies") as batch:
        batch.drop_index("ix_anomalies_opened_at")
        batch.drop_column("resolution")
        batch.drop_column("first_action_at")
        batch.drop_column("owner_role")
        batch.drop_column("level")
    op.drop_table("chat_prompts")
    op.drop_table("timers")
