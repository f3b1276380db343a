"""Console security: MFA (TOTP) and recovery codes, forced password change, login steps and limits.

Revision ID: 0009_console_security
Revises: 0008_wechat
Create Date: 2026-12-07

Models: bot/console/models.py. staff_users gains must_change_password and the TOTP columns;
staff_sessions a stage (the step still owed after the password); staff_login_attempts a kind and a
throttled flag (throttled tries are kept for the auditor but are no failures) and an index for the
per-account limit; staff_recovery_codes is new. Existing accounts keep their passwords
(must_change_password false) and have no MFA yet; open sessions end, so everyone signs in again
through the new steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009_console_security"
down_revision: str | None = "0008_wechat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN, not batch mode: on SQLite a batch copies and drops the table, which its foreign
    # keys (staff_sessions -> staff_users) refuse once it has rows
    op.add_column(
        "staff_users", sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("staff_users", sa.Column("mfa_secret", sa.String(64), nullable=True))
    op.add_column("staff_users", sa.Column("mfa_enabled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("staff_users", sa.Column("mfa_last_step", sa.Integer(), nullable=True))
    op.add_column("staff_sessions", sa.Column("stage", sa.String(16), nullable=True))
    op.add_column("staff_login_attempts", sa.Column("kind", sa.String(16), nullable=False, server_default="password"))
    op.add_column(
        "staff_login_attempts", sa.Column("throttled", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_index("ix_staff_login_attempts_username_at", "staff_login_attempts", ["username", "at"])
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_staff_recovery_codes"),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], name="fk_staff_recovery_codes_user_id_staff_users"),
    )
    op.create_index("ix_staff_recovery_codes_user_id", "staff_recovery_codes", ["user_id"])
    # Sessions begun before this version skipped the new steps (MFA for supervisors and admins) and
    # carry the old cookie (Path=/console): everyone signs in once more.
    sessions = sa.table("staff_sessions", sa.column("ended_at", sa.DateTime(timezone=True)))
    op.execute(sessions.update().where(sessions.c.ended_at.is_(None)).values(ended_at=datetime.now(UTC)))


def downgrade() -> None:
    op.drop_index("ix_staff_recovery_codes_user_id", table_name="staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
    op.drop_index("ix_staff_login_attempts_username_at", table_name="staff_login_attempts")
    # plain DROP COLUMN (SQLite 3.35+, PostgreSQL), for the same reason as above
    for table, column in (
        ("staff_login_attempts", "throttled"),
        ("staff_login_attempts", "kind"),
        ("staff_sessions", "stage"),
        ("staff_users", "mfa_last_step"),
        ("staff_users", "mfa_enabled_at"),
        ("staff_users", "mfa_secret"),
        ("staff_users", "must_change_password"),
    ):
        op.drop_column(table, column)
