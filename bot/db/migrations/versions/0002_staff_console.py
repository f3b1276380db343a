"""Staff console: staff accounts, sessions, login attempts, catalogue and FAQ versions.

Revision ID: 0002_staff_console
Revises: 0001_initial
Create Date: 2026-11-24

Models: bot/console/models.py. The vocabulary in the CHECK constraints is copied on purpose (a
migration is a snapshot).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_staff_console"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        _json("desks"),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("password_changed_at"),
        _ts("last_login_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_staff_users"),
        sa.UniqueConstraint("username", name="uq_staff_users_username"),
        sa.CheckConstraint("role IN ('agent', 'supervisor', 'admin')", name="ck_staff_users_role"),
    )

    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("last_seen_at"),
        _ts("ended_at", nullable=True),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff_sessions"),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], name="fk_staff_sessions_user_id_staff_users"),
    )
    op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"])

    op.create_table(
        "staff_login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        _ts("at"),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff_login_attempts"),
    )
    op.create_index("ix_staff_login_attempts_username_ip_at", "staff_login_attempts", ["username", "ip", "at"])
    op.create_index("ix_staff_login_attempts_ip_at", "staff_login_attempts", ["ip", "at"])

    op.create_table(
        "catalogue_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("desk", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("author", sa.String(120), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _ts("created_at"),
        _json("details"),
        sa.PrimaryKeyConstraint("id", name="pk_catalogue_versions"),
        sa.UniqueConstraint("desk", "kind", "version", name="uq_catalogue_versions_desk_kind_version"),
        sa.CheckConstraint("kind IN ('desk', 'faq')", name="ck_catalogue_versions_kind"),
    )


def downgrade() -> None:
    op.drop_table("catalogue_versions")
    op.drop_index("ix_staff_login_attempts_ip_at", table_name="staff_login_attempts")
    op.drop_index("ix_staff_login_attempts_username_ip_at", table_name="staff_login_attempts")
    op.drop_table("staff_login_attempts")
    op.drop_index("ix_staff_sessions_user_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("staff_users")
