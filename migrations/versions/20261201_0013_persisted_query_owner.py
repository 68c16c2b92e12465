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


def _table(*extra: sa.Column) -> sa.Table:
    """The table as it stands, given to SQLite's batch mode so that it copies without reflecting:
    ``gridlink migrate --sql`` (offline, no database) must work on SQLite too."""
    return sa.Table(
        "persisted_query",
        sa.MetaData(),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", api.records.UTCDateTime(timezone=True), nullable=False),
        *extra,
        sa.PrimaryKeyConstraint("sha256", name="pk_persisted_query"),
        sa.Index("ix_persisted_query_created_at", "created_at"),
    )


def _new_columns(used_at_nullable: bool) -> list[sa.Column]:
    return [
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column(
            "used_at", api.records.UTCDateTime(timezone=True), nullable=used_at_nullable
        ),
    ]


def upgrade() -> None:
    op.add_column("persisted_query", _new_columns(True)[0])
    op.add_column("persisted_query", _new_columns(True)[1])
    op.execute("UPDATE persisted_query SET used_at = created_at")
    with op.batch_alter_table(
        "persisted_query", copy_from=_table(*_new_columns(True))
    ) as batch_op:
        batch_op.alter_column(
            "used_at", existing_type=api.records.UTCDateTime(timezone=True), nullable=False
        )
    op.create_index(op.f("ix_persisted_query_owner_id"), "persisted_query", ["owner_id"])
    op.create_index(op.f("ix_persisted_query_used_at"), "persisted_query", ["used_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_persisted_query_used_at"), table_name="persisted_query")
    op.drop_index(op.f("ix_persisted_query_owner_id"), table_name="persisted_query")
    with op.batch_alter_table(
        "persisted_query", copy_from=_table(*_new_columns(False))
    ) as batch_op:
        batch_op.drop_column("used_at")
        batch_op.drop_column("owner_id")
