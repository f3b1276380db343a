"""Console security: MFA (TOTP) and recovery codes, forced password change, login steps and limits.

Revision ID: 0008_console_security
Revises: 0006_pending_matters
Create Date: 2026-12-07

Models: bot/console/models.py. staff_users gains must_change_password and the TOTP columns;
staff_sessions a stage (the step still owed after the password); staff_login_attempts a kind and a
throttled flag (throttled tries are kept for the auditor but are no failures) and an index for the
per-account limit; staff_recovery_codes is new. Existing accounts keep their passwords
(must_change_password false) and have no MFA yet.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_console_security"
down_revision: str | None = "0006_pending_matters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("mfa_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("mfa_enabled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("mfa_last_step", sa.Integer(), nullable=True))
    with op.batch_alter_table("staff_sessions") as batch:
        batch.add_column(sa.Column("stage", sa.String(16), nullable=True))
    with op.batch_alter_table("staff_login_attempts") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="password"))
        batch.add_column(sa.Column("throttled", sa.Boolean(), nullable=False, server_default=sa.false()))
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


def downgrade() -> None:
    op.drop_index("ix_staff_recovery_codes_user_id", table_name="staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
    op.drop_index("ix_staff_login_attempts_username_at", table_name="staff_login_attempts")
    with op.batch_alter_table("staff_login_attempts") as batch:
        batch.drop_column("throttled")
        batch.drop_column("kind")
    with op.batch_alter_table("staff_sessions") as batch:
        batch.drop_column("stage")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("mfa_last_step")
        batch.drop_column("mfa_enabled_at")
        batch.drop_column("mfa_secret")
        batch.drop_column("must_change_password")
