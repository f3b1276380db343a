"""WeCom 微信客服 channel: the `kf/sync_msg` cursor of each account, kept across restarts.

Revision ID: 0011_wechat_kf
Revises: 0010_retention
Create Date: 2026-12-07

Model: bot/gateway/models.py `WeChatKfCursor`, used by bot/channels/wechat_kf.py (the access_token
shares `gw_wechat_tokens` from 0008_wechat, keyed "kf:<corp_id>").
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_wechat_kf"
down_revision: str | None = "0010_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gw_wechat_kf_cursors",
        sa.Column("account", sa.String(200), primary_key=True),
        sa.Column("cursor", sa.String(200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("gw_wechat_kf_cursors")
