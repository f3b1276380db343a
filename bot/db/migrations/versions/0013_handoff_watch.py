"""Who is coming, in staff hours: gw_conversations.watch_since and watch_due_at.

Revision ID: 0013_handoff_watch
Revises: 0012_cluster_leases
Create Date: 2026-12-08

Model: bot/gateway/models.py `Conversation.watch_since`, `Conversation.watch_due_at`, kept by the
gateway (bot/gateway/handoff_watch.py): when a handoff to on-duty staff began, and when the person is
told that nobody has joined yet if no staff member has claimed, replied or taken over by then (null:
nothing to watch). Plain nullable ADD COLUMN: no table rebuild on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_handoff_watch"
down_revision: str | None = "0012_cluster_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("gw_conversations", sa.Column("watch_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("gw_conversations", sa.Column("watch_due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_gw_conversations_watch_due_at", "gw_conversations", ["watch_due_at"])


def downgrade() -> None:
    op.drop_index("ix_gw_conversations_watch_due_at", table_name="gw_conversations")
    with op.batch_alter_table("gw_conversations") as batch:
        batch.drop_column("watch_due_at")
        batch.drop_column("watch_since")
