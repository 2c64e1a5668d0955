"""inbox: the embedded durable queue and its dedup memory

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('received_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('consumer', sa.String(length=128), nullable=True),
    sa.Column('claimed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedup_key'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_claimed_at'), ['claimed_at'], unique=False)
        batch_op.create_index('ix_inbox_ready', ['consumer', 'id'], unique=False)

    op.create_table('inbox_seen',
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('expires_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dedup_key')
    )
    with op.batch_alter_table('inbox_seen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_seen_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbox_seen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_seen_expires_at'))

    op.drop_table('inbox_seen')
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_ready')
        batch_op.drop_index(batch_op.f('ix_inbox_claimed_at'))

    op.drop_table('inbox')
