"""persisted queries: owner and last use

Revision ID: 0013
Revises: 0010 (assigned 0009; re-chained after 0010 reached main)
Create Date: 2026-12-01 04:00:00

Additive: each stored query remembers who registered it (a per-member share of the store) and
when it was last used (least recently used out first). Existing rows have no owner and count as
used when they were registered.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.records


revision: str = "0013"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("persisted_query", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("used_at", api.records.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE persisted_query SET used_at = created_at")
    with op.batch_alter_table("persisted_query", schema=None, copy_from=_with_new_columns()) as (
        batch_op
    ):
        batch_op.alter_column(
            "used_at", existing_type=api.records.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.create_index(batch_op.f("ix_persisted_query_owner_id"), ["owner_id"])
        batch_op.create_index(batch_op.f("ix_persisted_query_used_at"), ["used_at"])


def _with_new_columns(*, done: bool = False) -> sa.Table:
    # The table as the first step of the upgrade leaves it (done: as the upgrade leaves it).
    # SQLite changes or drops a column by copying the table, and `gridlink migrate --sql`
    # (offline) cannot reflect the table to learn its shape.
    indexes = [sa.Index("ix_persisted_query_owner_id", "owner_id")] if done else []
    indexes += [sa.Index("ix_persisted_query_used_at", "used_at")] if done else []
    return sa.Table(
        "persisted_query",
        sa.MetaData(),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", api.records.UTCDateTime(timezone=True), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("used_at", api.records.UTCDateTime(timezone=True), nullable=not done),
        sa.PrimaryKeyConstraint("sha256", name="pk_persisted_query"),
        sa.Index("ix_persisted_query_created_at", "created_at"),
        *indexes,
    )


def downgrade() -> None:
    with op.batch_alter_table(
        "persisted_query", schema=None, copy_from=_with_new_columns(done=True)
    ) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persisted_query_used_at"))
        batch_op.drop_index(batch_op.f("ix_persisted_query_owner_id"))
        batch_op.drop_column("used_at")
        batch_op.drop_column("owner_id")
