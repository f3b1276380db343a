"""Staff accounts, sessions and the login rate limit: the console's only door.

Why it is built this way:

* passwords are stored as argon2id hashes only, and a login for an unknown name still spends one
  hash verification, so response times do not tell which names exist;
* failed logins are counted per username + IP (a guesser is stopped on one account) and per IP
  (one machine trying many names is stopped too), in the database, so a restart resets nothing;
* a session is a random token in a signed cookie; the database keeps only its SHA-256, its last use
  (idle timeout) and its start (absolute lifetime); disabling an account or changing its password
  ends its sessions at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.console.models import LoginAttempt, Role, StaffSession, StaffUser
from bot.db.engine import READ_ONLY

HASHER = PasswordHasher()  # argon2id with the library's current recommended cost (tests swap in a cheap one)
MIN_PASSWORD_CHARS = 10
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
DESK = re.compile(r"^[0-9A-Za-z_]{1,16}$")

IDLE_TIMEOUT = timedelta(minutes=30)
MAX_SESSION_AGE = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)  # do not write on every click: the idle clock is minute-accurate
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER_IP = 5
MAX_FAILURES_PER_IP = 30

RANK = {Role.AGENT.value: 0, Role.SUPERVISOR.value: 1, Role.ADMIN.value: 2}

# Who may do what (docs: bot/console/__init__.py). Desk limits apply to every role on top of this.
PERMISSIONS: dict[str, Role] = {
    "queue": Role.AGENT,  # see the queue and tickets of one's desks, reply, notes, status, category
    "claim": Role.AGENT,  # take an unassigned ticket; transfer a ticket one holds
    "reveal": Role.AGENT,  # reveal a transcript or a contact, with a reason (audited)
    "assign_any": Role.SUPERVISOR,  # assign or transfer any ticket of the desk, take over from a colleague
    "analytics": Role.SUPERVISOR,
    "catalogue": Role.SUPERVISOR,
    "safety": Role.ADMIN,  # the safety screen of all desks (crisis and emergency examples, negatives)
    "staff": Role.ADMIN,  # accounts, roles, desks
    "audit": Role.ADMIN,  # read the staff audit log
    "personal_data": Role.ADMIN,  # export or erase everything held about a person (bot/retention/person.py)
}


class AccountError(ValueError):
    """A refused account change; the message is shown to the admin as is."""


class LoginThrottled(Exception):
    """Too many failed logins: wait `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class StaffMember:
    """The signed-in staff member as the console sees them (a snapshot, not a row)."""

    id: int
    username: str
    display_name: str
    role: str
    desks: tuple[str, ...]
    active: bool = True
    last_login_at: datetime | None = None

    def at_least(self, role: Role | str) -> bool:
        return RANK[self.role] >= RANK[Role(role).value]

    def can(self, permission: str) -> bool:
        return self.at_least(PERMISSIONS[permission])

    def sees(self, desk: str) -> bool:
        return desk in self.desks


@dataclass(frozen=True)
class SessionInfo:
    member: StaffMember
    session_id: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"密码至少需要{MIN_PASSWORD_CHARS}个字符")
    if len(password) > 1024:
        raise AccountError("密码太长")
    return password


def check_desks(desks: Iterable[str]) -> list[str]:
    cleaned = sorted({d.strip() for d in desks if d and d.strip()})
    if not cleaned:
        raise AccountError("至少需要一个服务台")
    bad = [d for d in cleaned if not DESK.match(d)]
    if bad:
        raise AccountError(f"服务台编号无效：{', '.join(bad)}")
    return cleaned


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def _member(user: StaffUser) -> StaffMember:
    return StaffMember(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        desks=tuple(user.desks or ()),
        active=user.active,
        last_login_at=user.last_login_at,
    )


class StaffAccounts:
    """Repository of staff accounts and sessions; `clock` is injectable for the idle-timeout tests."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock
        self._dummy_hash: str | None = None

    def _read(self) -> Session:
        session = self._sessions()
        session.connection(execution_options={READ_ONLY: True})
        return session

    # -- accounts -------------------------------------------------------------------------------

    def create_user(
        self,
        username: str,
        password: str,
        *,
        role: Role | str,
        desks: Iterable[str],
        display_name: str | None = None,
    ) -> StaffMember:
        username = normalise_username(username)
        if not USERNAME.match(username):
            raise AccountError("用户名只能用小写字母、数字和 . _ -，2到64个字符")
        role_value = Role(role).value
        desk_list = check_desks(desks)
        password_hash = HASHER.hash(check_password(password))
        now = self._clock()
        user = StaffUser(
            username=username,
            display_name=(display_name or username).strip()[:120] or username,
            password_hash=password_hash,
            role=role_value,
            desks=desk_list,
            active=True,
            created_at=now,
            updated_at=now,
            password_changed_at=now,
        )
        try:
            with self._sessions.begin() as session:
                session.add(user)
        except IntegrityError:
            raise AccountError(f"用户名 {username} 已存在") from None
        return _member(user)

    def get(self, username: str) -> StaffMember | None:
        with self._read() as session:
            user = session.scalars(select(StaffUser).where(StaffUser.username == normalise_username(username))).first()
            return _member(user) if user else None

    def list_users(self) -> list[StaffMember]:
        with self._read() as session:
            return [_member(u) for u in session.scalars(select(StaffUser).order_by(StaffUser.username))]

    def colleagues(self, desk: str) -> list[StaffMember]:
        """Active staff of a desk: who a ticket may be assigned or transferred to."""
        return [m for m in self.list_users() if m.active and desk in m.desks]

    def update_user(
        self,
        username: str,
        *,
        role: Role | str | None = None,
        desks: Iterable[str] | None = None,
        active: bool | None = None,
        display_name: str | None = None,
    ) -> StaffMember:
        with self._sessions.begin() as session:
            user = self._user_for_update(session, username)
            if role is not None:
                user.role = Role(role).value
            if desks is not None:
                user.desks = check_desks(desks)
            if display_name is not None and display_name.strip():
                user.display_name = display_name.strip()[:120]
            if active is not None:
                user.active = active
                if not active:
                    self._end_sessions(session, user.id)
            user.updated_at = self._clock()
            return _member(user)

    def set_password(self, username: str, password: str) -> None:
        """New password; every session of the account ends (a stolen session dies with the old password)."""
        password_hash = HASHER.hash(check_password(password))
        with self._sessions.begin() as session:
            user = self._user_for_update(session, username)
            now = self._clock()
            user.password_hash, user.password_changed_at, user.updated_at = password_hash, now, now
            self._end_sessions(session, user.id)

    def count_admins(self) -> int:
        with self._read() as session:
            stmt = select(func.count()).where(StaffUser.role == Role.ADMIN.value, StaffUser.active.is_(True))
            return int(session.scalar(stmt) or 0)

    @staticmethod
    def _user_for_update(session: Session, username: str) -> StaffUser:
        user = session.scalars(select(StaffUser).where(StaffUser.username == normalise_username(username))).first()
        if user is None:
            raise AccountError(f"没有用户 {username}")
        return user

    def _end_sessions(self, session: Session, user_id: int) -> None:
        now = self._clock()
        for row in session.scalars(
            select(StaffSession).where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        ):
            row.ended_at = now

    # -- login ----------------------------------------------------------------------------------

    def _verify_dummy(self, password: str) -> None:
        """Spend one verification for an unknown name, so timing does not reveal which names exist."""
        if self._dummy_hash is None:
            self._dummy_hash = HASHER.hash(secrets.token_urlsafe(16))
        with contextlib.suppress(VerificationError, InvalidHashError):
            HASHER.verify(self._dummy_hash, password)

    def _retry_after(self, session: Session, username: str, ip: str, now: datetime) -> int | None:
        since = now - FAILURE_WINDOW
        last_success = session.scalar(
            select(func.max(LoginAttempt.at)).where(
                LoginAttempt.username == username, LoginAttempt.ip == ip, LoginAttempt.success.is_(True)
            )
        )
        pair_since = max(since, last_success) if last_success else since
        pair = session.scalars(
            select(LoginAttempt.at)
            .where(
                LoginAttempt.username == username,
                LoginAttempt.ip == ip,
                LoginAttempt.success.is_(False),
                LoginAttempt.at > pair_since,
            )
            .order_by(LoginAttempt.at.desc())
            .limit(MAX_FAILURES_PER_USER_IP)
        ).all()
        if len(pair) >= MAX_FAILURES_PER_USER_IP:
            return max(1, int((pair[-1] + FAILURE_WINDOW - now).total_seconds()) + 1)
        per_ip = session.scalars(
            select(LoginAttempt.at)
            .where(LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at > since)
            .order_by(LoginAttempt.at.desc())
            .limit(MAX_FAILURES_PER_IP)
        ).all()
        if len(per_ip) >= MAX_FAILURES_PER_IP:
            return max(1, int((per_ip[-1] + FAILURE_WINDOW - now).total_seconds()) + 1)
        return None

    def login(self, username: str, password: str, ip: str) -> StaffMember | None:
        """The member if name and password match an active account; None otherwise.

        Raises LoginThrottled before checking anything once the failure limit is reached.
        """
        username = normalise_username(username)[:64]
        ip = (ip or "unknown")[:64]
        now = self._clock()
        with self._read() as session:
            retry_after = self._retry_after(session, username, ip, now)
            user = session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
        if retry_after is not None:
            self._record_attempt(username, ip, now, success=False)
            raise LoginThrottled(retry_after)
        ok = False
        if user is None:
            self._verify_dummy(password)
        else:
            try:
                ok = HASHER.verify(user.password_hash, password) and user.active
            except (VerificationError, InvalidHashError):
                ok = False
        self._record_attempt(username, ip, now, success=ok)
        if not ok or user is None:
            return None
        with self._sessions.begin() as session:
            row = session.get_one(StaffUser, user.id)
            row.last_login_at = now
            if HASHER.check_needs_rehash(row.password_hash):
                row.password_hash = HASHER.hash(password)
            return _member(row)

    def _record_attempt(self, username: str, ip: str, at: datetime, *, success: bool) -> None:
        with self._sessions.begin() as session:
            session.add(LoginAttempt(username=username, ip=ip, at=at, success=success))

    # -- sessions -------------------------------------------------------------------------------

    def start_session(self, member: StaffMember, ip: str) -> str:
        """A new session for `member`; returns the token for the cookie (stored only hashed)."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._sessions.begin() as session:
            session.add(
                StaffSession(
                    id=hash_token(token), user_id=member.id, created_at=now, last_seen_at=now, ip=(ip or "")[:64]
                )
            )
        return token

    def resolve_session(self, token: str) -> tuple[SessionInfo | None, str | None]:
        """(session, None) for a live session; (None, why) otherwise: "idle", "expired" or "unknown"."""
        session_id = hash_token(token)
        now = self._clock()
        with self._read() as session:
            row = session.get(StaffSession, session_id)
            user = session.get(StaffUser, row.user_id) if row is not None else None
        if row is None or user is None or row.ended_at is not None or not user.active:
            return None, "unknown"
        why = None
        if now - row.last_seen_at > IDLE_TIMEOUT:
            why = "idle"
        elif now - row.created_at > MAX_SESSION_AGE:
            why = "expired"
        if why is not None:
            self.end_session(token)
            return None, why
        if now - row.last_seen_at >= TOUCH_EVERY:
            with self._sessions.begin() as write:
                live = write.get(StaffSession, session_id)
                if live is not None:
                    live.last_seen_at = now
        return SessionInfo(_member(user), session_id), None

    def end_session(self, token: str) -> None:
        with self._sessions.begin() as session:
            row = session.get(StaffSession, hash_token(token))
            if row is not None and row.ended_at is None:
                row.ended_at = self._clock()
