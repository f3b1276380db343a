"""How long a login must wait: per account across every address, with exponential backoff, and per address.

Why it is built this way (OWASP ASVS 4.0.3 2.2.1, anti-automation):

* the **account** limit counts an account's failures from every address (a botnet guessing one
  password gets no more tries than one machine). The first `FREE_FAILURES` are free; after that each
  failure doubles the wait, from one minute up to an hour (`backoff`). A successful sign-in, or a new
  password set by an admin, starts the count again; failures older than a day are forgotten;
* the **address** limit stops one machine trying many names (password spraying): once failures for
  `MAX_ACCOUNTS_PER_IP` different names came from one address within `IP_WINDOW`, new names from it
  wait. Behind a proxy all staff share one address, so the limit never applies to an account that has
  signed in from that address before (within `KNOWN_ADDRESS_DAYS`): a sprayer behind the proxy cannot
  lock colleagues out, and those accounts keep their own account limit;
* a throttled try is refused before the password is checked and is recorded as throttled, not as a
  failure: waiting and retrying too early does not make the wait longer (ASVS: no self-inflicted lockout).

Everything is read from the `staff_login_attempts` table, so a restart resets nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.console.models import LoginAttempt

FREE_FAILURES = 5
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)
ACCOUNT_MEMORY = timedelta(days=1)
MAX_ACCOUNTS_PER_IP = 10
IP_WINDOW = timedelta(minutes=15)
KNOWN_ADDRESS_DAYS = 30


@dataclass(frozen=True)
class Verdict:
    """`retry_after` seconds to wait (0: go ahead) and which limit said so ("account" or "address")."""

    retry_after: int = 0
    limit: str | None = None

    @property
    def throttled(self) -> bool:
        return self.retry_after > 0


def backoff(failures: int) -> timedelta:
    """The wait after the last failure once an account has `failures` of them: 0, then 1, 2, 4 ... 60 min."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(LONGEST_WAIT, FIRST_WAIT * 2 ** (failures - FREE_FAILURES))


def _seconds(until: datetime, now: datetime) -> int:
    left = (until - now).total_seconds()
    return 0 if left <= 0 else math.ceil(left)


def account_wait(session: Session, username: str, now: datetime, since: datetime | None) -> int:
    """Seconds this account must wait; `since` is when its password last changed (None: ignore)."""
    last_success = session.scalar(
        select(func.max(LoginAttempt.id)).where(LoginAttempt.username == username, LoginAttempt.success.is_(True))
    )
    start = now - ACCOUNT_MEMORY
    if since is not None and since > start:
        start = since
    stmt = select(LoginAttempt.at).where(
        LoginAttempt.username == username,
        LoginAttempt.success.is_(False),
        LoginAttempt.throttled.is_(False),
        LoginAttempt.at >= start,
    )
    if last_success is not None:  # by row order: a failure and a success may share a timestamp
        stmt = stmt.where(LoginAttempt.id > last_success)
    failures = session.scalars(stmt.order_by(LoginAttempt.at.desc())).all()
    if len(failures) < FREE_FAILURES:
        return 0
    return _seconds(failures[0] + backoff(len(failures)), now)


def known_address(session: Session, username: str, ip: str, now: datetime) -> bool:
    """Has this account signed in from this address recently? (Its colleagues behind a proxy have.)"""
    stmt = select(LoginAttempt.id).where(
        LoginAttempt.username == username,
        LoginAttempt.ip == ip,
        LoginAttempt.success.is_(True),
        LoginAttempt.at > now - timedelta(days=KNOWN_ADDRESS_DAYS),
    )
    return session.scalar(stmt.limit(1)) is not None


def address_wait(session: Session, username: str, ip: str, now: datetime) -> int:
    """Seconds a new name must wait at this address after failures for many different names."""
    latest = session.execute(
        select(LoginAttempt.username, func.max(LoginAttempt.at).label("at"))
        .where(
            LoginAttempt.ip == ip,
            LoginAttempt.success.is_(False),
            LoginAttempt.throttled.is_(False),
            LoginAttempt.at > now - IP_WINDOW,
        )
        .group_by(LoginAttempt.username)
    ).all()
    others = sorted((row.at for row in latest if row.username != username), reverse=True)
    if len(others) < MAX_ACCOUNTS_PER_IP or known_address(session, username, ip, now):
        return 0
    # the count falls under the limit when the MAX-th most recent name's last failure leaves the window
    return _seconds(others[MAX_ACCOUNTS_PER_IP - 1] + IP_WINDOW, now)


def verdict(session: Session, username: str, ip: str, now: datetime, password_since: datetime | None) -> Verdict:
    """May this name try to sign in from this address now?"""
    wait = account_wait(session, username, now, password_since)
    if wait:
        return Verdict(wait, "account")
    wait = address_wait(session, username, ip, now)
    return Verdict(wait, "address") if wait else Verdict()


def minutes(seconds: int) -> int:
    """Whole minutes to tell a person, rounded up (a wait of 61 s is "2 分钟", never "1")."""
    return max(1, -(-seconds // 60))
