"""account audit log, one-time sign-in codes, worker heartbeat, ticket (enterprise, status) index

Revision ID: 0009
Revises: 0008 (assigned 0005; re-chained after 0008 reached main)
Create Date: 2026-12-01 00:00:00

Additive only (expand): new tables, and an index on the large ticket table built CONCURRENTLY on
PostgreSQL so that reads and writes go on while it builds (see docs/operations.md, "Upgrade").
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.records


revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_label", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "CREATED", "DEACTIVATED", "REACTIVATED", "CODE_ISSUED", "CODE_REDEEMED",
                "TOKEN_REVOKED", "DEVICE_REVOKED", "ROLES_CHANGED", "GRIDS_CHANGED", "IMPORTED",
                name="accountaction", native_enum=False, length=32,
            ),
            nullable=False,
        ),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", api.records.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["member.id"], name=op.f("fk_account_event_actor_id_member")),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_account_event_member_id_member")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_event")),
    )
    op.create_index("ix_account_event_member_at", "account_event", ["member_id", "at"])
    op.create_table(
        "sign_in_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum("NEW_MEMBER", "PASSWORD_RESET", name="codepurpose", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("created_at", api.records.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", api.records.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", api.records.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["member.id"], name=op.f("fk_sign_in_code_created_by_id_member")),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_sign_in_code_member_id_member")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_sign_in_code_code_hash")),
    )
    op.create_index(op.f("ix_sign_in_code_member_id"), "sign_in_code", ["member_id"])
    op.create_table(
        "worker_heartbeat",
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("jobs", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("started_at", api.records.UTCDateTime(timezone=True), nullable=False),
        sa.Column("beat_at", api.records.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker", name=op.f("pk_worker_heartbeat")),
    )
    op.create_index(op.f("ix_worker_heartbeat_beat_at"), "worker_heartbeat", ["beat_at"])
    # ticket is the large table: on PostgreSQL the index is built without blocking writes
    # (outside a transaction; the tables above are committed first).
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_ticket_enterprise_status",
            "ticket",
            ["enterprise_id", "status"],
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_ticket_enterprise_status",
            table_name="ticket",
            postgresql_concurrently=True,
            if_exists=True,
        )
    op.drop_index(op.f("ix_worker_heartbeat_beat_at"), table_name="worker_heartbeat")
    op.drop_table("worker_heartbeat")
    op.drop_index(op.f("ix_sign_in_code_member_id"), table_name="sign_in_code")
    op.drop_table("sign_in_code")
    op.drop_index("ix_account_event_member_at", table_name="account_event")
    op.drop_table("account_event")
