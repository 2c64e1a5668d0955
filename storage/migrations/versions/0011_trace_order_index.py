"""parcel traces in time order per parcel: the customer desk reads each parcel's first and
newest scan as two index probes instead of reading and sorting all its lines

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26

``uq_parcel_traces_line`` (parcel_id, digest) finds a parcel's lines but not in time order:
the newest scan then means fetching every line of the parcel (scattered over the heap, as
scans arrive days apart) and sorting them. ``(parcel_id, at, id)`` answers "first" and
"newest" with one descent each, and serves ``SqlParcels.lines`` (ordered by at, id) too.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("parcel_traces") as batch:
        batch.create_index("ix_parcel_traces_parcel_at", ["parcel_id", "at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("parcel_traces") as batch:
        batch.drop_index("ix_parcel_traces_parcel_at")
