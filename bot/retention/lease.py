"""A database-row lease: the one process that holds it runs the purge (several app processes, one purge).

`acquire` takes the row if it is free or expired, or renews it for its holder; two processes racing
for it both try one conditional UPDATE, and only one of them changes the row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, or_, update
from sqlalchemy.exc import IntegrityError

from bot.tickets.models import RetentionLease


def acquire(engine: Engine, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Whether `holder` holds the lease `name` until now + ttl after this call."""
    with engine.begin() as conn:
        taken = conn.execute(
            update(RetentionLease)
            .where(RetentionLease.name == name, or_(RetentionLease.holder == holder, RetentionLease.expires_at < now))
            .values(holder=holder, expires_at=now + ttl)
        ).rowcount
    if taken:
        return True
    try:
        with engine.begin() as conn:
            conn.execute(insert(RetentionLease).values(name=name, holder=holder, expires_at=now + ttl))
        return True
    except IntegrityError:  # the row exists and someone else holds it
        return False


def release(engine: Engine, name: str, holder: str, now: datetime) -> None:
    """Let the lease go at once (the next run need not wait for it to expire)."""
    with engine.begin() as conn:
        conn.execute(
            update(RetentionLease)
            .where(RetentionLease.name == name, RetentionLease.holder == holder)
            .values(expires_at=now)
        )
