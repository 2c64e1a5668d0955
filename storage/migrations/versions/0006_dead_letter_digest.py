"""dead letters kept once (SHA-256 per source); card windows (pacing of cards to one role)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

At-least-once delivery can hand the same poison payload to a worker twice (a reclaim after a
slow batch). The unique (source, digest) index lets ``SqlDeadLetters.add`` insert-or-nothing.
Existing rows are backfilled: the first row of each (source, raw) keeps the digest; later
copies made before this migration keep a NULL digest (NULLs never collide in a unique index
on SQLite or PostgreSQL), so no history is deleted.

``card_windows`` counts the cards of one kind sent per fixed time window (dead letters to ops:
a few one by one, then one digest when the window closes), shared by every worker process.
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 500


def upgrade() -> None:
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(sa.Column("digest", sa.String(length=64), nullable=True))
    _backfill()
    with op.batch_alter_table("dead_letters") as batch:
        batch.create_index("ux_dead_letters_source_digest", ["source", "digest"], unique=True)
    op.create_table(
        "card_windows",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("window_start", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("digest_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kind", "window_start"),
    )


def _backfill() -> None:
    """Chunks by id, so a large table is never read into memory at once."""
    conn = op.get_bind()
    table = sa.table("dead_letters", sa.column("id", sa.BigInteger()),
                     sa.column("source", sa.String()), sa.column("raw", sa.LargeBinary()),
                     sa.column("digest", sa.String()))
    seen: set[tuple[str, str]] = set()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(table.c.id, table.c.source, table.c.raw)
            .where(table.c.id > last).order_by(table.c.id).limit(_CHUNK)
        ).all()
        if not rows:
            return
        for letter_id, source, raw in rows:
            key = (source, hashlib.sha256(bytes(raw)).hexdigest())
            if key not in seen:
                seen.add(key)
                conn.execute(sa.update(table).where(table.c.id == letter_id)
                             .values(digest=key[1]))
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_table("card_windows")
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_index("ux_dead_letters_source_digest")
        batch.drop_column("digest")
