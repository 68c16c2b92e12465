"""rule versions: deadline policies, risk weights and station criteria as officers change them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 04:00:00

Additive only: one new table. Version 1 of each rule set is written at start-up from the rules
in force then (api/rules/service.py, seed_rule_versions), not here: the deadline table and the
GRIDLINK_RISK_RULES variable it reads are the installation's, not the migration's.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.records


revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rule_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "DEADLINES", "RISK", "STATION_CRITERIA",
                name="rulekind", native_enum=False, length=32,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("author_label", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("effective_from", api.records.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["member.id"], name=op.f("fk_rule_version_author_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_version")),
        sa.UniqueConstraint("kind", "version", name=op.f("uq_rule_version_kind_version")),
    )


def downgrade() -> None:
    op.drop_table("rule_version")
