"""Staff accounts, sessions and the login rate limit: the console's only door.

Why it is built this way:

* passwords are stored as argon2id hashes only, and a login for an unknown name still spends one
  hash verification, so response times do not tell which names exist;
* failed logins are limited per account across every address, with exponential backoff, and per
  address on the number of different names (see throttle.py); a throttled try is no new failure;
* supervisors and admins prove a second factor (TOTP, see mfa.py) after the password; until every
  step is done (the code, a forced new password, setting up MFA) the session opens only that step;
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
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.console import mfa, throttle
from bot.console.models import LoginAttempt, RecoveryCode, Role, StaffSession, StaffUser
from bot.db.engine import READ_ONLY

HASHER = PasswordHasher()  # argon2id with the library's current recommended cost (tests swap in a cheap one)
MIN_PASSWORD_CHARS = 10
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
DESK = re.compile(r"^[0-9A-Za-z_]{1,16}$")

IDLE_TIMEOUT = timedelta(minutes=30)
MAX_SESSION_AGE = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)  # do not write on every click: the idle clock is minute-accurate
PENDING_MAX_AGE = timedelta(minutes=10)  # a half-finished login (code, new password, MFA set-up)
MFA_ROLES = (Role.SUPERVISOR.value, Role.ADMIN.value)

# The steps a session may still owe after the password, in order.
STAGE_MFA = "mfa"  # the TOTP (or recovery) code
STAGE_PASSWORD = "password"  # a new password, after an admin set or reset it
STAGE_ENROL = "enrol"  # set up MFA (supervisors and admins, when FRONTDOOR_CONSOLE_REQUIRE_MFA is on)

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
    """Too many failed logins: wait `retry_after` seconds (`limit`: "account" or "address")."""

    def __init__(self, retry_after: int, limit: str | None = None) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after} s")
        self.retry_after = retry_after
        self.limit = limit


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
    mfa_enabled: bool = False
    must_change_password: bool = False

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
    stage: str | None = None


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
        mfa_enabled=user.mfa_enabled_at is not None,
        must_change_password=bool(user.must_change_password),
    )


def pending_stage(member: StaffMember, *, require_mfa: bool, mfa_done: bool) -> str | None:
    """The next step this member owes before the console opens (None: signed in)."""
    if member.mfa_enabled and not mfa_done:
        return STAGE_MFA
    if member.must_change_password:
        return STAGE_PASSWORD
    if require_mfa and member.role in MFA_ROLES and not member.mfa_enabled:
        return STAGE_ENROL
    return None


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
        must_change_password: bool = False,
    ) -> StaffMember:
        """A new account; `must_change_password` when someone else chose the password (an admin)."""
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
            must_change_password=must_change_password,
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

    def set_password(self, username: str, password: str, *, by_admin: bool = True) -> None:
        """New password; every session of the account ends (a stolen session dies with the old password).

        Set by an admin (the default), the account must choose its own at the next login; a new
        password also starts the account's failed-login count again (an admin reset unlocks it).
        """
        password_hash = HASHER.hash(check_password(password))
        with self._sessions.begin() as session:
            user = self._user_for_update(session, username)
            now = self._clock()
            user.password_hash, user.password_changed_at, user.updated_at = password_hash, now, now
            user.must_change_password = by_admin
            self._end_sessions(session, user.id)

    def change_own_password(self, user_id: int, current: str, new: str) -> None:
        """The member's own change: the current password first, and a new one that differs from it.

        Every session of the account ends (the caller starts a fresh one for the browser in use).
        """
        with self._read() as session:
            user = session.get_one(StaffUser, user_id)
            stored = user.password_hash
        ok: bool
        try:
            ok = HASHER.verify(stored, current)
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            raise AccountError("当前密码不正确")
        if new == current:
            raise AccountError("新密码不能与当前密码相同")
        password_hash = HASHER.hash(check_password(new))
        with self._sessions.begin() as session:
            user = session.get_one(StaffUser, user_id)
            now = self._clock()
            user.password_hash, user.password_changed_at, user.updated_at = password_hash, now, now
            user.must_change_password = False
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

    def login(self, username: str, password: str, ip: str) -> StaffMember | None:
        """The member if name and password match an active account; None otherwise.

        Raises LoginThrottled before checking anything while a limit holds (recorded as throttled, not
        as a failure). A correct password of an account with MFA is not yet a sign-in: its success is
        recorded when the code is (`verify_mfa`).
        """
        username = normalise_username(username)[:64]
        ip = (ip or "unknown")[:64]
        now = self._clock()
        with self._read() as session:
            user = session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
            since = user.password_changed_at if user is not None else None
            verdict = throttle.verdict(session, username, ip, now, since)
        if verdict.throttled:
            self._record_attempt(username, ip, now, success=False, throttled=True)
            raise LoginThrottled(verdict.retry_after, verdict.limit)
        ok = False
        if user is None:
            self._verify_dummy(password)
        else:
            try:
                ok = HASHER.verify(user.password_hash, password) and user.active
            except (VerificationError, InvalidHashError):
                ok = False
        if not ok or user is None:
            self._record_attempt(username, ip, now, success=False)
            return None
        if user.mfa_enabled_at is None:
            self._record_attempt(username, ip, now, success=True)
        with self._sessions.begin() as session:
            row = session.get_one(StaffUser, user.id)
            if row.mfa_enabled_at is None:
                row.last_login_at = now
            if HASHER.check_needs_rehash(row.password_hash):
                row.password_hash = HASHER.hash(password)
            return _member(row)

    # -- second factor --------------------------------------------------------------------------

    def reauthenticate(self, user_id: int, password: str, ip: str) -> bool:
        """The password again before a change to the second factor from a signed-in session (a stolen
        session alone must not set up, or read new recovery codes of, someone's MFA). Limited and
        counted like a login."""
        ip = (ip or "unknown")[:64]
        now = self._clock()
        with self._read() as session:
            user = session.get_one(StaffUser, user_id)
            username, stored = user.username, user.password_hash
            verdict = throttle.verdict(session, username, ip, now, user.password_changed_at)
        if verdict.throttled:
            self._record_attempt(username, ip, now, success=False, kind="reauth", throttled=True)
            raise LoginThrottled(verdict.retry_after, verdict.limit)
        ok: bool
        try:
            ok = HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            self._record_attempt(username, ip, now, success=False, kind="reauth")
        return ok

    def verify_mfa(self, user_id: int, code: str, ip: str) -> str | None:
        """Check the code after the password: "totp" or "recovery" when it is accepted, None when not.

        The account limit applies here too (a failed code is a failed login of the account), so the
        one million codes cannot be tried; a code of an already used time step is refused.
        """
        ip = (ip or "unknown")[:64]
        now = self._clock()
        with self._read() as session:
            user = session.get_one(StaffUser, user_id)
            username, secret, last_step = user.username, user.mfa_secret, user.mfa_last_step
            verdict = throttle.verdict(session, username, ip, now, user.password_changed_at)
        if verdict.throttled:
            self._record_attempt(username, ip, now, success=False, kind="mfa", throttled=True)
            raise LoginThrottled(verdict.retry_after, verdict.limit)
        how = None
        if secret and self._use_step(user_id, secret, code, now, last_step):
            how = "totp"
        elif mfa.looks_like_recovery_code(code) and self._use_recovery_code(user_id, code, now):
            how = "recovery"
        self._record_attempt(username, ip, now, success=how is not None, kind="mfa")
        if how is not None:
            with self._sessions.begin() as session:
                session.get_one(StaffUser, user_id).last_login_at = now
        return how

    def _use_step(self, user_id: int, secret: str, code: str, now: datetime, last_step: int | None) -> bool:
        step = mfa.matching_step(secret, code, now, last_step)
        if step is None:
            return False
        with self._sessions.begin() as session:  # compare-and-set: two requests with one code, one wins
            result = session.execute(
                update(StaffUser)
                .where(
                    StaffUser.id == user_id,
                    or_(StaffUser.mfa_last_step.is_(None), StaffUser.mfa_last_step < step),
                )
                .values(mfa_last_step=step)
            )
            return bool(getattr(result, "rowcount", 0))

    def _use_recovery_code(self, user_id: int, code: str, now: datetime) -> bool:
        with self._sessions.begin() as session:
            result = session.execute(
                update(RecoveryCode)
                .where(
                    RecoveryCode.user_id == user_id,
                    RecoveryCode.code_hash == mfa.hash_recovery_code(user_id, code),
                    RecoveryCode.used_at.is_(None),
                )
                .values(used_at=now)
            )
            return bool(getattr(result, "rowcount", 0))

    def enrolment_secret(self, user_id: int) -> str:
        """The secret being set up (made on first ask, kept across reloads until confirmed)."""
        with self._sessions.begin() as session:
            user = session.get_one(StaffUser, user_id)
            if user.mfa_enabled_at is not None:
                raise AccountError("已启用两步验证")
            if not user.mfa_secret:
                user.mfa_secret = mfa.new_secret()
            return user.mfa_secret

    def confirm_enrolment(self, user_id: int, code: str) -> list[str] | None:
        """Turn MFA on once a code from the app matches; returns the recovery codes (shown once)."""
        now = self._clock()
        with self._read() as session:
            user = session.get_one(StaffUser, user_id)
            secret, enabled = user.mfa_secret, user.mfa_enabled_at
        if not secret or enabled is not None:
            return None
        step = mfa.matching_step(secret, code, now, None)
        if step is None:
            return None
        with self._sessions.begin() as session:
            user = session.get_one(StaffUser, user_id)
            user.mfa_enabled_at, user.mfa_last_step, user.updated_at = now, step, now
        return self.new_recovery_codes(user_id)

    def new_recovery_codes(self, user_id: int) -> list[str]:
        """A fresh set of recovery codes; the old ones stop working."""
        codes = mfa.new_recovery_codes()
        now = self._clock()
        with self._sessions.begin() as session:
            session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
            session.add_all(
                RecoveryCode(user_id=user_id, code_hash=mfa.hash_recovery_code(user_id, c), created_at=now)
                for c in codes
            )
        return codes

    def recovery_codes_left(self, user_id: int) -> int:
        with self._read() as session:
            stmt = select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
            return int(session.scalar(stmt) or 0)

    def mfa_secret(self, user_id: int) -> str | None:
        with self._read() as session:
            return session.get_one(StaffUser, user_id).mfa_secret

    def reset_mfa(self, username: str) -> None:
        """An admin's reset for a lost phone: MFA off, codes gone, sessions ended; set up again at login."""
        with self._sessions.begin() as session:
            user = self._user_for_update(session, username)
            user.mfa_secret, user.mfa_enabled_at, user.mfa_last_step = None, None, None
            user.updated_at = self._clock()
            session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
            self._end_sessions(session, user.id)

    def _record_attempt(
        self, username: str, ip: str, at: datetime, *, success: bool, kind: str = "password", throttled: bool = False
    ) -> None:
        with self._sessions.begin() as session:
            session.add(LoginAttempt(username=username, ip=ip, at=at, success=success, kind=kind, throttled=throttled))

    # -- sessions -------------------------------------------------------------------------------

    def start_session(self, member: StaffMember, ip: str, stage: str | None = None) -> str:
        """A new session for `member`; returns the token for the cookie (stored only hashed).

        `stage`: the step still owed (see pending_stage); each finished step starts a new session, so
        a token seen before a step is worthless after it.
        """
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._sessions.begin() as session:
            session.add(
                StaffSession(
                    id=hash_token(token),
                    user_id=member.id,
                    created_at=now,
                    last_seen_at=now,
                    ip=(ip or "")[:64],
                    stage=stage,
                )
            )
        return token

    def member(self, user_id: int) -> StaffMember:
        with self._read() as session:
            return _member(session.get_one(StaffUser, user_id))

    def resolve_session(self, token: str) -> tuple[SessionInfo | None, str | None]:
        """(session, None) for a live session; (None, why) otherwise: "idle", "expired",
        "unfinished" (a login step left for more than 10 minutes) or "unknown"."""
        session_id = hash_token(token)
        now = self._clock()
        with self._read() as session:
            row = session.get(StaffSession, session_id)
            user = session.get(StaffUser, row.user_id) if row is not None else None
        if row is None or user is None or row.ended_at is not None or not user.active:
            return None, "unknown"
        why = None
        if row.stage is not None and now - row.created_at > PENDING_MAX_AGE:
            why = "unfinished"
        elif now - row.last_seen_at > IDLE_TIMEOUT:
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
        return SessionInfo(_member(user), session_id, row.stage), None

    def end_session(self, token: str) -> None:
        with self._sessions.begin() as session:
            row = session.get(StaffSession, hash_token(token))
            if row is not None and row.ended_at is None:
                row.ended_at = self._clock()
