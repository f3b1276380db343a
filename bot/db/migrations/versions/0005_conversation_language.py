"""The conversation's language: gw_conversations.language (zh-Hans, zh-Hant or en).

Revision ID: 0005_conversation_language
Revises: 0004_lessons
Create Date: 2026-12-07

Model: bot/gateway/models.py `Conversation.language`, set by the gateway from every inbound message
(bot/language.py). Existing conversations are Simplified Chinese, the default.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_conversation_language"
down_revision: str | None = "0004_lessons"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gw_conversations") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=False, server_default="zh-Hans"))


def downgrade() -> None:
    with op.batch_alter_table("gw_conversations") as batch:
        batch.drop_column("language")
