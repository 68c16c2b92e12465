"""sync log: index of each record's positions

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 13:00:00

Additive only (expand): an index (record_id, txid, seq) on the sync log, built CONCURRENTLY on
PostgreSQL so that pushes go on writing the log while it builds (see docs/operations.md,
"Upgrade"). A pull checks, for each position of its page, whether the record has a later
position (sync/pull.py): with this index the probe finds "none" in the index alone, where
ix_sync_change_record (record_id, version) had to fetch every log row of the record from the
table to compare positions. ix_sync_change_record stays: a push's merge reads the changes
after a version.
"""

from collections.abc import Sequence

from alembic import op


revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The sync log is a large table: on PostgreSQL the index is built without blocking writes
    # (outside a transaction). SQLite ignores the option.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_sync_change_record_position",
            "sync_change",
            ["record_id", "txid", "seq"],
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_sync_change_record_position",
            table_name="sync_change",
            postgresql_concurrently=True,
            if_exists=True,
        )
