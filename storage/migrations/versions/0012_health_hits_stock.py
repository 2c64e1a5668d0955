"""health rule hits (shadow rules counted per day) and the stock snapshot table

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26

``health_rule_hits``: findings per Beijing day, rule, code and mode, incremented in the ingest
transaction that ran the check (a shadow rule never opens an anomaly, so this is its only
trace). ``stock_levels``: units available per SKU, loaded by ``orderbot stock load``; the stock
rule judges only SKUs listed here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_rule_hits",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rule", sa.String(length=80), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("hits", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "rule", "code", "mode"),
    )
    op.create_table(
        "stock_levels",
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("available", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sku"),
    )


def downgrade() -> None:
    op.drop_table("stock_levels")
    op.drop_table("health_rule_hits")
