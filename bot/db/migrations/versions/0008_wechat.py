"""WeChat Official Account channel: the shared access_token and each user's customer-service window.

Revision ID: 0008_wechat
Revises: 0007_integration_keys
Create Date: 2026-12-07

Models: bot/gateway/models.py `WeChatToken` (one access_token per AppID, shared by every instance,
with a refresh lease) and `WeChatWindow` (48 h / 5 messages per user and desk), used by
bot/channels/wechat_api.py and bot/channels/wechat.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_wechat"
down_revision: str | None = "0007_integration_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gw_wechat_tokens",
        sa.Column("app_id", sa.String(64), primary_key=True),
        sa.Column("access_token", sa.String(600), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshing_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "gw_wechat_windows",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("desk", sa.String(20), nullable=False),
        sa.Column("open_id", sa.String(160), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.UniqueConstraint("desk", "open_id", name="uq_gw_wechat_windows_desk_user"),
    )


def downgrade() -> None:
    op.drop_table("gw_wechat_windows")
    op.drop_table("gw_wechat_tokens")
