"""officers: members' languages, download links of reports and exports

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
    op.create_table(
        "download_link",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("auth_token_id", sa.Uuid(), nullable=True),
        sa.Column("what", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", api.records.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", api.records.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["auth_token_id"],
            ["auth_token.id"],
            name=op.f("fk_download_link_auth_token_id_auth_token"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_download_link_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_download_link")),
    )
    with op.batch_alter_table("download_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_download_link_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_download_link_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_download_link_token_hash"), ["token_hash"], unique=True
        )


def downgrade() -> None:
    op.drop_table("download_link")
    op.drop_table("member_language")
