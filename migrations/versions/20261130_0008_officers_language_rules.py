"""officers: members' languages (notifications in zh-CN or en)

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-30 23:59:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.records

revision: str = "0008"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_language",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("updated_at", api.records.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_member_language_member_id_member")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_language")),
    )


def downgrade() -> None:
    op.drop_table("member_language")
