"""kf_cursors: where the 微信客服 message sync of each customer-service account stands

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

``kf/sync_msg`` pages a kf account's messages with an opaque ``next_cursor`` (at most 64
bytes, WeCom doc 94670). The cursor after the last fully queued page is kept per
``open_kfid`` so that a restart continues there instead of re-reading 3 days of messages.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kf_cursors",
        sa.Column("open_kfid", sa.String(length=128), nullable=False),
        sa.Column("cursor", sa.String(length=128), nullable=False),
        sa.Column("synced_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("open_kfid"),
    )


def downgrade() -> None:
    op.drop_table("kf_cursors")
