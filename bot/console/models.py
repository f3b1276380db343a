"""Tables of the staff console, in the ticket store's metadata (one database, one migration history).

Staff accounts, their server-side sessions, login attempts (for the rate limit) and the versions of
the catalogue and FAQ files edited in the browser, and what supervisors decided about staff
corrections. The schema comes from the migrations `0002_staff_console`, `0004_lessons` and `0009_console_security`;
a test checks that they build exactly these models.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.tickets.models import Base, JSONType


class Role(str, enum.Enum):
    """What a staff member may do; each role includes the rights of the one before."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    def __str__(self) -> str:
        return str(self.value)


class CatalogueKind(str, enum.Enum):
    """Which file a catalogue version is: a desk's catalogue, FAQ, taught examples or imported history, or
    the safety screen's."""

    DESK = "desk"
    FAQ = "faq"
    LESSONS = "lessons"
    """A desk's staff-taught category examples (`lessons/<desk>.yml`, read on top of its catalogue)."""
    SAFETY = "safety"
    HISTORY = "history"
    """A desk's imported past tickets (`history/<desk>.yml`, bot/triage/history.py), read on top too."""

    def __str__(self) -> str:
        return str(self.value)


def _one_of(column: str, values: type[enum.Enum]) -> str:
    return f"{column} IN ({', '.join(repr(member.value) for member in values)})"


class StaffUser(Base):
    """A staff account: argon2 hash only, a role, the desks whose tickets it may see."""

    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint(_one_of("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    desks: Mapped[list[str]] = mapped_column(JSONType)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    """Set when an admin creates the account or resets its password: the next login asks for a new one."""
    mfa_secret: Mapped[str | None] = mapped_column(String(64))
    """Base32 TOTP secret: being enrolled while mfa_enabled_at is None, in use once it is set."""
    mfa_enabled_at: Mapped[datetime | None]
    mfa_last_step: Mapped[int | None] = mapped_column(Integer)
    """The 30-second step of the last accepted code: a code of that step or earlier is a replay."""


class StaffSession(Base):
    """A login. The cookie carries a random token; only its SHA-256 is stored (a DB leak is no login)."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ip: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str | None] = mapped_column(String(16))
    """None: signed in. Otherwise the step still owed after the password: "mfa" (the code), "password"
    (a forced change) or "enrol" (set up MFA); such a session opens only that step's page."""


class RecoveryCode(Base):
    """A one-time MFA recovery code, stored as SHA-256 of (user id, code): 60 random bits each."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Every login attempt, kept for the per-account and per-IP limits (and for the curious auditor).

    `success` is a whole sign-in (password, and the code when MFA is on); `kind` says which step a
    failure was ("password" or "mfa"); a `throttled` try was refused unchecked and counts as no failure.
    """

    __tablename__ = "staff_login_attempts"
    __table_args__ = (
        Index("ix_staff_login_attempts_username_ip_at", "username", "ip", "at"),
        Index("ix_staff_login_attempts_ip_at", "ip", "at"),
        Index("ix_staff_login_attempts_username_at", "username", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    success: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(16), default="password")
    throttled: Mapped[bool] = mapped_column(Boolean, default=False)


class CatalogueVersion(Base):
    """One accepted version of a desk's catalogue or FAQ file: who, when, why, and the full text."""

    __tablename__ = "catalogue_versions"
    __table_args__ = (
        CheckConstraint(_one_of("kind", CatalogueKind), name="kind"),
        UniqueConstraint("desk", "kind", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    desk: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(120))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    details: Mapped[dict[str, Any]]


class LessonDecision(str, enum.Enum):
    """What a supervisor made of a staff correction."""

    TAUGHT = "taught"
    """The person's request (masked) became an example in the catalogue or the safety screen."""
    DISMISSED = "dismissed"
    """Not a good example (several matters at once, a slip of the agent, ...): nothing changed."""

    def __str__(self) -> str:
        return str(self.value)


class LessonKind(str, enum.Enum):
    """What a correction was about."""

    CATEGORY = "category"
    """An agent re-filed a ticket; the target is the corrected category id."""
    SAFETY = "safety"
    """Staff said the safety screen was wrong; the target is `crisis.examples` (a missed crisis) or
    `crisis.negatives` (a false alarm)."""

    def __str__(self) -> str:
        return str(self.value)


class Lesson(Base):
    """A decision on one staff correction (one per ticket event: `category_changed` or `safety_feedback`).

    Staff correct; a supervisor (an admin for the safety screen) decides which corrections the bot
    should learn from, so that one slip cannot teach it something wrong.
    """

    __tablename__ = "lessons"
    __table_args__ = (
        CheckConstraint(_one_of("decision", LessonDecision), name="decision"),
        CheckConstraint(_one_of("kind", LessonKind), name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("ticket_events.id"), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    desk: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(80))
    decision: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]
    catalogue_version: Mapped[int | None] = mapped_column(Integer)
    """The file version that added the example (None: dismissed, or already an example)."""


CONSOLE_TABLES = (
    StaffUser.__tablename__,
    StaffSession.__tablename__,
    LoginAttempt.__tablename__,
    RecoveryCode.__tablename__,
    CatalogueVersion.__tablename__,
    Lesson.__tablename__,
)
