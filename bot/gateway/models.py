"""What the gateway keeps so that no message is lost or answered twice.

Every inbound message is written before anything else happens; its replies are written before
they are handed to the channel. A duplicate delivery (same channel message id) gets the stored
replies again instead of a second conversation turn.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class GatewayBase(DeclarativeBase):
    """Metadata of the gateway's own tables (kept apart from the ticket store's)."""


class Conversation(GatewayBase):
    __tablename__ = "gw_conversations"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<desk>:<channel>:<user>" = Rasa sender id
    desk: Mapped[str] = mapped_column(String(20), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_user: Mapped[str] = mapped_column(String(160))
    handoff: Mapped[bool] = mapped_column(Boolean, default=False)
    handoff_reason: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InboundMessage(GatewayBase):
    __tablename__ = "gw_inbound"
    __table_args__ = (UniqueConstraint("conversation_id", "channel_message_id", name="uq_gw_inbound_dedupe"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("gw_conversations.id"), index=True)
    channel_message_id: Mapped[str | None] = mapped_column(String(120), default=None)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)  # received|answered|to_staff
    safety: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class OutboundMessage(GatewayBase):
    __tablename__ = "gw_outbound"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("gw_conversations.id"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("gw_inbound.id"), default=None, index=True)
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, default=None)
    source: Mapped[str] = mapped_column(String(20))  # bot|gateway|staff
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
