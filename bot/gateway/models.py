"""What the gateway keeps so that no message is lost or answered twice.

Every inbound message is written before anything else happens; its replies are written before
they are handed to the channel. A duplicate delivery (same channel message id) gets the stored
replies again instead of a second conversation turn. Replies that cannot travel back in the
request (push channels, staff replies, follow-ups, answers recovered after a crash) wait in
`gw_outbound` as `pending` until the outbound worker or a polling client delivers them.

The schema is created by the Alembic chain in bot/db/migrations (revisions 0003_gateway_tables,
0005_conversation_language, 0006_pending_matters, 0007_integration_keys, 0008_wechat, 0011_wechat_kf,
0012_cluster_leases and 0013_handoff_watch); keep both in step (tests/gateway/test_gateway_schema.py compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

INBOUND_STATUSES = ("received", "answered", "to_staff")
OUTBOUND_STATUSES = ("pending", "sending", "sent", "failed")
DELIVERIES = ("inline", "queue")  # inline: returned in the channel's own response; queue: pushed or polled


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite returns naive UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class GatewayBase(DeclarativeBase):
    """Metadata of the gateway's own tables (kept apart from the ticket store's)."""


CRISIS_ALERT = "crisis_alert"
"""Outbound source of crisis alerts (and their summaries) to the staff chat: sent before other alerts."""
ALERT_SOURCES = ("alert", CRISIS_ALERT)
"""Outbound sources of rows that go to staff (the on-duty chat), never to the person."""


class Conversation(GatewayBase):
    __tablename__ = "gw_conversations"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<desk>:<channel>:<user>" = Rasa sender id
    desk: Mapped[str] = mapped_column(String(20), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_user: Mapped[str] = mapped_column(String(160))
    handoff: Mapped[bool] = mapped_column(Boolean, default=False)
    handoff_reason: Mapped[str | None] = mapped_column(String(40), default=None)
    # set when staff hand the conversation back: Rasa's handoff/in_crisis slots are reset before its next turn
    bot_reset_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    # the person's language (bot/language.py: zh-Hans, zh-Hant, en), updated by every decisive message
    language: Mapped[str] = mapped_column(String(8), default="zh-Hans", server_default="zh-Hans")
    # several matters raised in one message (bot/gateway/matters.py), while they are being taken one by one
    pending_matters: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # a handoff to on-duty staff (bot/gateway/handoff_watch.py): when it began, and when the person is told
    # nobody has joined yet unless staff have claimed, replied or taken over by then (null: nothing to watch)
    watch_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    watch_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InboundMessage(GatewayBase):
    __tablename__ = "gw_inbound"
    __table_args__ = (UniqueConstraint("conversation_id", "channel_message_id", name="uq_gw_inbound_dedupe"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("gw_conversations.id"), index=True)
    channel_message_id: Mapped[str | None] = mapped_column(String(120), default=None)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)  # INBOUND_STATUSES
    safety: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # the instance answering it and until when; after that (it died) another instance may answer it
    owner: Mapped[str | None] = mapped_column(String(120), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class OutboundMessage(GatewayBase):
    __tablename__ = "gw_outbound"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("gw_conversations.id"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("gw_inbound.id"), default=None, index=True)
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, default=None)
    source: Mapped[str] = mapped_column(String(20))  # bot|gateway|check-in|staff|followup|alert|crisis_alert
    delivery: Mapped[str] = mapped_column(String(10), default="inline")  # DELIVERIES
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # OUTBOUND_STATUSES
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)  # a long text goes out in parts; resend only the rest
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # while 'sending': the instance sending it and until when (then another instance may send it again)
    owner: Mapped[str | None] = mapped_column(String(120), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class TelegramUpdate(GatewayBase):
    """Journal of raw Telegram updates: written before Telegram is told we have them.

    Polling confirms an update with the next getUpdates offset, a webhook with its HTTP 200; both
    happen only after the row is committed, so a hard kill loses nothing and a redelivery is
    dropped by (desk, update_id). The payload is emptied once the update is handled.
    """

    __tablename__ = "gw_telegram_updates"
    __table_args__ = (UniqueConstraint("desk", "update_id", name="uq_gw_telegram_updates_desk_update"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    desk: Mapped[str] = mapped_column(String(20))
    update_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)  # received|handled
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WeChatToken(GatewayBase):
    """One access_token per Official Account (AppID), shared by every instance of the app.

    Each plain `cgi-bin/token` fetch invalidates the previous token, so instances must not each keep
    their own: the holder (bot/channels/wechat_api.py) reads it here, and only the instance that wins
    the refresh lease (`refreshing_until`) asks WeChat for a new one.
    """

    __tablename__ = "gw_wechat_tokens"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str | None] = mapped_column(String(600), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    refreshing_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WeChatWindow(GatewayBase):
    """The customer-service window of one WeChat user of a desk: 5 messages within 48 h of their last message.

    Every inbound message opens the window again (`last_inbound_at`, `sent` back to 0); every
    customer-service message sent counts. A message that would fall outside is not sent and its
    outbound row is marked failed (45015/45047), so staff see that it did not reach the person.
    """

    __tablename__ = "gw_wechat_windows"
    __table_args__ = (UniqueConstraint("desk", "open_id", name="uq_gw_wechat_windows_desk_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    desk: Mapped[str] = mapped_column(String(20))
    open_id: Mapped[str] = mapped_column(String(160))
    last_inbound_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent: Mapped[int] = mapped_column(Integer, default=0)


class WeChatKfCursor(GatewayBase):
    """Where this app stands in one 微信客服 account's message stream (WeCom's `kf/sync_msg` cursor).

    The cursor moves on only once every message of a batch is written by the gateway, so a restart
    pulls again from the last batch that was fully written and never skips a message; a message
    pulled twice is dropped by the gateway's dedupe (its msgid). One row per corp and open_kfid.
    """

    __tablename__ = "gw_wechat_kf_cursors"

    account: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<corp_id>:<open_kfid>"
    cursor: Mapped[str | None] = mapped_column(String(200), default=None)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ChatToken(GatewayBase):
    """A web chat conversation's token (bot/channels/chat_tokens.py): only its SHA-256 is kept.

    The server chooses the sender; whoever holds the token speaks and reads as that sender on that
    desk, and nobody else can. A token unused for FRONTDOOR_CHAT_TOKEN_IDLE_DAYS is refused.
    """

    __tablename__ = "gw_chat_tokens"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    desk: Mapped[str] = mapped_column(String(20))
    sender: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class IntegrationKey(GatewayBase):
    """An integration's API key (bot/channels/keys.py): `fdk_<key_id>_<secret>`, only the secret's SHA-256 kept.

    `name` is the integration's channel namespace: its people are "<name>:<sender>" on channel rest,
    so two integrations never share a conversation. `desks` is comma-separated; empty means every desk.
    """

    __tablename__ = "gw_integration_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(30), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    desks: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
