"""ticket attachments (photos, documents, voice notes)

Revision ID: 0006
Revises: 0008
Create Date: 2026-12-01 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.records

revision: str = "0006"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_attachment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", api.records.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", api.records.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", api.records.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("PHOTO", "DOCUMENT", "AUDIO", name="attachmentkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("byte_size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("caption", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("taken_at", api.records.UTCDateTime(timezone=True), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=True),
        sa.Column("uploaded", sa.Boolean(), nullable=False),
        sa.Column("uploaded_at", api.records.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_attachment_ticket_id_ticket")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["member.id"],
            name=op.f("fk_ticket_attachment_uploaded_by_id_member"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_attachment")),
    )
    with op.batch_alter_table("ticket_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_attachment_ticket_id"), ["ticket_id"], unique=False
        )
    # Comments of tickets deleted before deleting a ticket took its comments with it: gone
    # too, so that a first sync no longer hands them out.
    op.execute(
        """
        UPDATE ticket_comment
        SET deleted_at = (SELECT t.deleted_at FROM ticket t WHERE t.id = ticket_comment.ticket_id),
            updated_at = (SELECT t.deleted_at FROM ticket t WHERE t.id = ticket_comment.ticket_id),
            version = version + 1
        WHERE deleted_at IS NULL
          AND ticket_id IN (SELECT id FROM ticket WHERE deleted_at IS NOT NULL)
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("ticket_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_attachment_ticket_id"))
    op.drop_table("ticket_attachment")
