"""Identity from the server: web chat tokens (gw_chat_tokens) and integration keys (gw_integration_keys).

Revision ID: 0007_integration_keys
Revises: 0006_pending_matters
Create Date: 2026-12-07

Models: bot/gateway/models.py `ChatToken` and `IntegrationKey`, used by bot/channels/chat_tokens.py
and bot/channels/keys.py. Only SHA-256 digests of the secrets are stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_integration_keys"
down_revision: str | None = "0006_pending_matters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gw_chat_tokens",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("desk", sa.String(20), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_gw_chat_tokens_last_used_at", "gw_chat_tokens", ["last_used_at"])
    op.create_table(
        "gw_integration_keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(30), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("desks", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_gw_integration_keys_name", "gw_integration_keys", ["name"])


def downgrade() -> None:
    op.drop_index("ix_gw_integration_keys_name", table_name="gw_integration_keys")
    op.drop_table("gw_integration_keys")
    op.drop_index("ix_gw_chat_tokens_last_used_at", table_name="gw_chat_tokens")
    op.drop_table("gw_chat_tokens")
