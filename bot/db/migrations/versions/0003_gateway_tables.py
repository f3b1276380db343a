"""Gateway tables: conversations, inbound journal, outbound queue, Telegram update journal.

Revision ID: 0003_gateway_tables
Revises: 0002_staff_console
Create Date: 2026-11-23

The gateway (bot/gateway/models.py) used to create its tables with `create_all`; databases made that
way get the columns added since then instead of a second CREATE TABLE.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_gateway_tables"
down_revision: str | None = "0002_staff_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _tables() -> dict[str, list[sa.Column[object]]]:
    return {
        "gw_conversations": [
            sa.Column("id", sa.String(200), primary_key=True),
            sa.Column("desk", sa.String(20), nullable=False),
            sa.Column("channel", sa.String(20), nullable=False),
            sa.Column("external_user", sa.String(160), nullable=False),
            sa.Column("handoff", sa.Boolean(), nullable=False),
            sa.Column("handoff_reason", sa.String(40), nullable=True),
            sa.Column("bot_reset_pending", sa.Boolean(), nullable=False, server_default=sa.false()),
            _ts("created_at"),
            _ts("last_seen_at"),
        ],
        "gw_inbound": [
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("conversation_id", sa.String(200), sa.ForeignKey("gw_conversations.id"), nullable=False),
            sa.Column("channel_message_id", sa.String(120), nullable=True),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("safety", sa.JSON(), nullable=True),
            _ts("received_at"),
            _ts("answered_at", nullable=True),
        ],
        "gw_outbound": [
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("conversation_id", sa.String(200), sa.ForeignKey("gw_conversations.id"), nullable=False),
            sa.Column("inbound_id", sa.Integer(), sa.ForeignKey("gw_inbound.id"), nullable=True),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("buttons", sa.JSON(), nullable=True),
            sa.Column("source", sa.String(20), nullable=False),
            sa.Column("delivery", sa.String(10), nullable=False, server_default="inline"),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("parts_sent", sa.Integer(), nullable=False, server_default="0"),
            _ts("next_attempt_at", nullable=True),
            sa.Column("last_error", sa.String(300), nullable=True),
            _ts("created_at"),
            _ts("sent_at", nullable=True),
        ],
        "gw_telegram_updates": [
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("desk", sa.String(20), nullable=False),
            sa.Column("update_id", sa.BigInteger(), nullable=False),
            sa.Column("payload", sa.JSON(), nullable=True),
            sa.Column("status", sa.String(20), nullable=False),
            _ts("received_at"),
        ],
    }


INDEXES = {
    "gw_conversations": [("ix_gw_conversations_desk", ["desk"])],
    "gw_inbound": [("ix_gw_inbound_conversation_id", ["conversation_id"]), ("ix_gw_inbound_status", ["status"])],
    "gw_outbound": [
        ("ix_gw_outbound_conversation_id", ["conversation_id"]),
        ("ix_gw_outbound_inbound_id", ["inbound_id"]),
        ("ix_gw_outbound_status", ["status"]),
    ],
    "gw_telegram_updates": [("ix_gw_telegram_updates_status", ["status"])],
}
UNIQUES = {
    "gw_inbound": sa.UniqueConstraint("conversation_id", "channel_message_id", name="uq_gw_inbound_dedupe"),
    "gw_telegram_updates": sa.UniqueConstraint("desk", "update_id", name="uq_gw_telegram_updates_desk_update"),
}


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, columns in _tables().items():
        if name in existing:  # made by the old create_all: add what is missing
            have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(name)}
            missing = [c for c in columns if c.name not in have]
            if missing:
                with op.batch_alter_table(name) as batch:
                    for column in missing:
                        batch.add_column(_addable(column))
            continue
        extra = [UNIQUES[name]] if name in UNIQUES else []
        op.create_table(name, *columns, *extra)
        for index_name, index_columns in INDEXES[name]:
            op.create_index(index_name, name, index_columns)


def _addable(column: sa.Column[object]) -> sa.Column[object]:
    """A column added to a table that already has rows needs a server default or must allow NULL."""
    default = column.server_default if isinstance(column.server_default, sa.DefaultClause) else None
    return sa.Column(
        column.name,
        column.type,
        nullable=bool(column.nullable) or default is None,
        server_default=default.arg if default is not None else None,  # type: ignore[arg-type]  # str or SQL text
    )


def downgrade() -> None:
    for name in reversed(list(_tables())):
        op.drop_table(name)
