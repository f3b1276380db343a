"""Several matters in one message: gw_conversations.pending_matters (JSON, null when none).

Revision ID: 0006_pending_matters
Revises: 0005_conversation_language
Create Date: 2026-12-07

Model: bot/gateway/models.py `Conversation.pending_matters`, kept by the gateway (bot/gateway/matters.py):
the matters a person raised together, while the bot asks which comes first and offers the others after
the first is filed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_pending_matters"
down_revision: str | None = "0005_conversation_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gw_conversations") as batch:
        batch.add_column(sa.Column("pending_matters", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gw_conversations") as batch:
        batch.drop_column("pending_matters")
