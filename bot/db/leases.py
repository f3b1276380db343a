"""Database-row leases: one holder per job name in a cluster of app processes on one database.

Used for the retention purge (bot/retention/job.py) and the leader jobs of cluster mode: return
visits and SLA alerts (bot/followups/runtime.py), each desk's Telegram polling
(bot/channels/telegram_runtime.py). `acquire` takes the row if it is free or expired, or renews it for
its holder; two processes racing for it both try one conditional UPDATE, and only one changes the row.
A holder that dies simply stops renewing: another process takes over once `expires_at` has passed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.tickets.models import RetentionLease

log = logging.getLogger(__name__)


def acquire(engine: Engine, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Whether `holder` holds the lease `name` until now + ttl after this call."""
    with engine.begin() as conn:
        taken = conn.execute(
            update(RetentionLease)
            .where(RetentionLease.name == name, or_(RetentionLease.holder == holder, RetentionLease.expires_at < now))
            .values(holder=holder, expires_at=now + ttl, renewed_at=now)
        ).rowcount
    if taken:
        return True
    try:
        with engine.begin() as conn:
            conn.execute(insert(RetentionLease).values(name=name, holder=holder, expires_at=now + ttl, renewed_at=now))
        return True
    except IntegrityError:  # the row exists and someone else holds it
        return False


def release(engine: Engine, name: str, holder: str, now: datetime) -> None:
    """Let the lease go at once (the next holder need not wait for it to expire)."""
    with engine.begin() as conn:
        conn.execute(
            update(RetentionLease)
            .where(RetentionLease.name == name, RetentionLease.holder == holder)
            .values(expires_at=now)
        )


def holder(engine: Engine, name: str, now: datetime | None = None) -> str | None:
    """Who holds the lease now (None: nobody, or it expired)."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        row = conn.execute(
            select(RetentionLease.holder, RetentionLease.expires_at).where(RetentionLease.name == name)
        ).first()
    if row is None:
        return None
    expires = row[1] if row[1].tzinfo else row[1].replace(tzinfo=UTC)
    return str(row[0]) if expires >= now else None


class Leader:
    """A leader lease kept by one process: `leader.held()` renews it (or takes it over) and says
    whether this process leads now. Cheap enough to call before every run of a singleton job."""

    def __init__(self, engine: Engine, name: str, holder: str, ttl_seconds: float) -> None:
        self.engine, self.name, self.holder = engine, name, holder
        self.ttl = timedelta(seconds=ttl_seconds)
        self.leading = False

    def held(self) -> bool:
        """Renew or take the lease (blocking: call it in a thread)."""
        was = self.leading
        self.leading = acquire(self.engine, self.name, self.holder, datetime.now(UTC), self.ttl)
        if self.leading != was:
            log.info("%s %s the %s lease", self.holder, "holds" if self.leading else "lost", self.name)
        return self.leading

    def release(self) -> None:
        if self.leading:
            release(self.engine, self.name, self.holder, datetime.now(UTC))
            self.leading = False
