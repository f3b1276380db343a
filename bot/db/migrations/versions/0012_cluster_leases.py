"""Cluster mode, database half: leases on work in flight, shared SLA alert memory, renewed leases.

Revision ID: 0012_cluster_leases
Revises: 0011_wechat_kf
Create Date: 2026-12-07

Models: bot/gateway/models.py (`InboundMessage`, `OutboundMessage`), bot/tickets/models.py
(`RetentionLease`, `SlaAlert`). Several app instances on one PostgreSQL database:

* `gw_inbound.owner`, `gw_inbound.lease_until`: the instance answering a message and until when;
  recovery answers only messages whose lease expired (never another live instance's);
* `gw_outbound.owner`, `gw_outbound.lease_until`: the same for a queued message being sent, so a
  `sending` row of a dead instance is sent again after its lease, not at every start-up;
* `retention_leases.renewed_at`: the lease table now also holds the leader leases (return visits and
  SLA alerts, Telegram polling per desk); when the holder last renewed it;
* `ticket_sla_alerts`: when staff were last alerted about a ticket's missed deadline (was per process).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_cluster_leases"
down_revision: str | None = "0011_wechat_kf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable, no default): no table rebuild on SQLite
    for table in ("gw_inbound", "gw_outbound"):
        op.add_column(table, sa.Column("owner", sa.String(120), nullable=True))
        op.add_column(table, sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("retention_leases", sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "ticket_sla_alerts",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.String(16), nullable=False),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "deadline", name="pk_ticket_sla_alerts"),
    )


def downgrade() -> None:
    op.drop_table("ticket_sla_alerts")
    op.drop_column("retention_leases", "renewed_at")
    for table in ("gw_outbound", "gw_inbound"):
        op.drop_column(table, "lease_until")
        op.drop_column(table, "owner")
