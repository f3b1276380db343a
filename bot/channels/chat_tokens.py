"""Web chat conversation tokens: the server, not the browser, says who is speaking.

`POST /api/chat/{desk}/session` gives the page a random token (256 bits) and a sender id the server
chose; only the token's SHA-256 is stored, with its desk. The page sends the token in the
`X-Chat-Token` header (never in a URL, so it stays out of logs and history) and the sender comes
from it. A token is bound to its desk and expires after FRONTDOOR_CHAT_TOKEN_IDLE_DAYS without use;
the page then asks for a new one, which starts a new conversation.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from bot.gateway.models import ChatToken, as_utc, utcnow

HEADER = "X-Chat-Token"
TOUCH_EVERY = timedelta(hours=1)
"""last_used_at is written at most this often (the page polls every few seconds; expiry is in days)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(engine: Engine, desk: str, idle_days: int, now: datetime | None = None) -> tuple[str, str]:
    """A new (token, sender) for `desk`; tokens idle for longer than `idle_days` are deleted on the way."""
    now = now or utcnow()
    token, sender = secrets.token_urlsafe(32), "w" + secrets.token_hex(16)
    with Session(engine) as session:
        session.execute(delete(ChatToken).where(ChatToken.last_used_at < now - timedelta(days=idle_days)))
        session.add(ChatToken(token_sha256=_digest(token), desk=desk, sender=sender, created_at=now, last_used_at=now))
        session.commit()
    return token, sender


def resolve(engine: Engine, token: str | None, desk: str, idle_days: int, now: datetime | None = None) -> str | None:
    """The sender of a known, unexpired token of this desk; None otherwise (unknown, expired, other desk)."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    with Session(engine) as session:
        row = session.scalars(select(ChatToken).where(ChatToken.token_sha256 == _digest(token))).first()
        if row is None or row.desk != desk:
            return None
        last_used = as_utc(row.last_used_at)
        if now - last_used > timedelta(days=idle_days):
            return None
        if now - last_used > TOUCH_EVERY:
            row.last_used_at = now
            session.commit()
        return row.sender
