# ruff: noqa: RUF009 - the fields' defaults are _from_env(...): a dataclasses.field(default_factory=...)
"""One settings object, read from the environment.

Secrets have no default: a process that needs one and does not find it stops with a message that
says which variable to set (`make run` generates local ones and says so). Everything else has a
default that works on one machine with no external service.

Every FRONTDOOR_* variable is read here and nowhere else (the launcher only passes some on to the
processes it starts); `Settings.variables()` lists them, and tests/test_settings.py checks that the
README's settings table documents exactly those. Standard library only: the Rasa 3.10 environment
imports parts of bot/.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_NAME = "multilingual-e5-small"
DEFAULT_STAFF_HOURS = "12355=09:00-18:00"
"""Staff hours of a desk that FRONTDOOR_STAFF_HOURS does not name: 12355's office hours (others 7x24)."""
DEFAULT_FOLLOW_UP_INTERVAL = 60.0
TELEGRAM_TOKEN_PREFIX = "FRONTDOOR_TELEGRAM_TOKEN_"
"""A desk's Telegram bot token is FRONTDOOR_TELEGRAM_TOKEN_<desk>, e.g. FRONTDOOR_TELEGRAM_TOKEN_12355."""
WECHAT_PREFIX = "FRONTDOOR_WECHAT_"
"""A desk's WeChat Official Account: FRONTDOOR_WECHAT_<desk>_APPID, _SECRET, _TOKEN, _AES_KEY, _AES_KEY_PREVIOUS."""
WECHAT_PARTS = ("APPID", "SECRET", "TOKEN", "AES_KEY", "AES_KEY_PREVIOUS")
WECHAT_KF_PREFIX = "FRONTDOOR_WECHAT_KF_"
"""A desk's WeCom customer-service account (微信客服): FRONTDOOR_WECHAT_KF_<desk>_CORPID, _SECRET, _OPEN_KFID,
_TOKEN, _AES_KEY, _AES_KEY_PREVIOUS."""
WECHAT_KF_PARTS = ("CORPID", "SECRET", "OPEN_KFID", "TOKEN", "AES_KEY", "AES_KEY_PREVIOUS")
_ENV = "env"  # field metadata key: the environment variable a field is read from


class MissingSecretError(RuntimeError):
    """A secret that has no default was not set in the environment."""


Reader = Callable[[str, str | None], Any]
"""Turns (variable name, its value or None when unset) into a setting; a bad value raises or warns."""


def _from_env(name: str, read: Reader) -> Any:
    """A field read from the environment variable `name` by `read` (the name is in the field's metadata)."""
    return field(default_factory=lambda: read(name, os.environ.get(name)), metadata={_ENV: name})


def _text(default: str) -> Reader:
    return lambda _, raw: default if raw is None else raw


def _optional(_: str, raw: str | None) -> str | None:
    """Unset, empty or blank: None."""
    return (raw or "").strip() or None


def _number(default: str, kind: Callable[[str], Any]) -> Reader:
    def read(name: str, raw: str | None) -> Any:
        value = default if raw is None else raw
        try:
            return kind(value)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise ValueError(f"{name} must be {what} (default {default}), not {value!r}") from None

    return read


def _bounded_int(default: str, low: int, high: int) -> Reader:
    def read(name: str, raw: str | None) -> int:
        text = (default if raw is None else raw).strip()
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{name} must be a whole number from {low} to {high}, not {text!r}") from None
        if not low <= value <= high:
            raise ValueError(f"{name} must be from {low} to {high}, not {value}")
        return value

    return read


@dataclass(frozen=True)
class Rate:
    """`count` requests per `seconds`: a token bucket of `count` tokens refilled evenly over `seconds`
    (bot/security/limits.py); also a threshold in a window (staff alerts)."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """ "30/60" = 30 per 60 seconds; a count of 0 turns the limit off."""
        count, slash, seconds = text.strip().partition("/")
        try:
            rate = cls(int(count.strip()), float(seconds.strip()))
        except ValueError:
            rate = None
        if not slash or rate is None or rate.count < 0 or not rate.seconds > 0:
            raise ValueError(f"a rate is written COUNT/SECONDS, e.g. 30/60, not {text!r}")
        return rate

    @property
    def off(self) -> bool:
        return self.count <= 0

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds:g}"


def _rate(default: str) -> Reader:
    """A limit written COUNT/SECONDS ("60/60"); a count of 0 turns it off. A bad value stops the process."""

    def read(name: str, raw: str | None) -> Rate:
        try:
            return Rate.parse(default if raw is None or not raw.strip() else raw)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc} (default {default})") from None

    return read


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "front-door"


_warned: set[tuple[str, str]] = set()


def _warn_once(name: str, raw: str, message: str) -> None:
    """Log a lenient setting's bad value once per process (settings are read on many calls)."""
    if (name, raw) not in _warned:
        _warned.add((name, raw))
        log.warning(message)


def _follow_up_interval(name: str, raw: str | None) -> float:
    """Seconds between scheduler runs; not a number: the default, with a warning (the app still starts)."""
    if raw is None:
        return DEFAULT_FOLLOW_UP_INTERVAL
    try:
        return max(0.0, float(raw))
    except ValueError:
        _warn_once(
            name,
            raw,
            f"{name} is not a number ({raw!r}); using {DEFAULT_FOLLOW_UP_INTERVAL:g} s. "
            f"Set it to the seconds between follow-up runs, or 0 to turn them off.",
        )
        return DEFAULT_FOLLOW_UP_INTERVAL


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Hosts where the console is reached over plain http by the person at the machine (no Secure cookie)."""


def _switch(default: bool | None) -> Reader:
    """ "1"/"true"/"on" or "0"/"false"/"off"; unset or empty: `default` (None: decided in __post_init__)."""

    def read(name: str, raw: str | None) -> bool | None:
        value = (raw or "").strip().lower()
        if not value:
            return default
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{name} must be 1 or 0, not {raw!r}")

    return read


def _flag(name: str, raw: str | None) -> bool:
    """Only "1" turns it on; any other value is off, with a warning (a typo must not open anything)."""
    if raw not in (None, "", "0", "1"):
        _warn_once(name, raw, f"{name} is {raw!r}; treated as off. Set it to 1 to turn it on.")
    return raw == "1"


def _choice(name: str, raw: str | None, allowed: tuple[str, ...]) -> str:
    """One of `allowed` (the first is the default); anything else stops with the list."""
    value = (raw or allowed[0]).strip()
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _warm_up(name: str, raw: str | None) -> bool:
    """Only "1" asks for the warm-up (the launcher sets it); any other value is off, with a warning."""
    if raw not in (None, "", "0", "1"):
        _warn_once(name, raw, f"{name} is {raw!r}; no warm-up. Set it to 1 to open the ticket store at start.")
    return raw == "1"


@dataclass(frozen=True)
class WeChatAccount:
    """One desk's Official Account as the WeChat admin panel shows it (AppSecret, Token, EncodingAESKey)."""

    desk: str
    app_id: str
    secret: str = field(repr=False)
    token: str = field(repr=False)
    aes_key: str | None = field(default=None, repr=False)  # None: plain mode (local trials only)
    aes_key_previous: str | None = field(default=None, repr=False)  # accepted after a key rotation


def _default_instance() -> str:
    """Unique per process, so two instances never take each other's rows for their own."""
    host = os.uname().nodename if hasattr(os, "uname") else "host"  # stdlib os only: see the import test
    return f"{host}:{os.getpid()}"


@dataclass(frozen=True)
class WeChatKfAccount:
    """One desk's 微信客服 account in WeCom: the corp, the 微信客服 secret, the account (open_kfid) and the
    callback's Token and EncodingAESKey (WeCom always encrypts callbacks)."""

    desk: str
    corp_id: str
    secret: str = field(repr=False)
    open_kfid: str
    token: str = field(repr=False)
    aes_key: str = field(repr=False)
    aes_key_previous: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Settings:
    """Every setting of the app; the README's settings table documents each environment variable."""

    data_dir: Path = _from_env("FRONTDOOR_DATA_DIR", lambda _, raw: Path(REPO_ROOT / "var" if raw is None else raw))
    cache_dir: Path = _from_env(
        "FRONTDOOR_CACHE_DIR", lambda _, raw: _default_cache_dir() if raw is None else Path(raw)
    )
    database_url: str = _from_env("FRONTDOOR_DATABASE_URL", _text(""))
    embedding_model: str = _from_env("FRONTDOOR_EMBEDDING_MODEL", _text(""))
    # the public app's address (web chat, REST, Telegram webhook, console)
    host: str = _from_env("FRONTDOOR_HOST", _text("127.0.0.1"))
    # where Rasa and the action server listen: loopback or a private address, never FRONTDOOR_HOST
    private_host: str = _from_env("FRONTDOOR_PRIVATE_HOST", _text("127.0.0.1"))
    # 1 lets FRONTDOOR_PRIVATE_HOST be a public or wildcard address (only behind a firewall you control)
    allow_public_private_host: bool = _from_env("FRONTDOOR_ALLOW_PUBLIC_PRIVATE_HOST", _flag)
    # largest request body of the JSON API routes (REST, staff API), checked before the body is read
    max_body_bytes: int = _from_env("FRONTDOOR_MAX_BODY_BYTES", _bounded_int("65536", 1024, 16 * 1024 * 1024))
    port: int = _from_env("FRONTDOOR_PORT", _number("8000", int))
    # one URL, or several comma-separated Rasa replicas (each conversation prefers one, fails over to another)
    rasa_url: str = _from_env("FRONTDOOR_RASA_URL", _text("http://127.0.0.1:5005"))
    # 1: the Rasa replicas share one tracker store and a Redis lock store (cluster mode), so a conversation
    # whose replica is down moves to another; 0: it stays on its replica (own SQLite tracker, `make run`)
    rasa_failover: bool = _from_env("FRONTDOOR_RASA_FAILOVER", _flag)
    # torch threads of the embedding model per process (0 = one per core); the launcher sets 1 for servers
    torch_threads: int = _from_env("FRONTDOOR_TORCH_THREADS", _bounded_int("0", 0, 64))
    # the port `make run` starts Rasa on; replica i listens on rasa_port + i
    rasa_port: int = _from_env("FRONTDOOR_RASA_PORT", _bounded_int("5005", 1, 65535))
    # how many Rasa processes `make run` starts: one per core is the most useful
    rasa_replicas: int = _from_env("FRONTDOOR_RASA_REPLICAS", _bounded_int("1", 1, 8))
    action_server_port: int = _from_env("FRONTDOOR_ACTION_PORT", _number("5055", int))
    rasa_timeout_seconds: float = _from_env("FRONTDOOR_RASA_TIMEOUT", _number("10", float))
    # the action server's webhook URL, as Rasa calls it; when set the gateway also checks the server's health
    action_url: str | None = _from_env("FRONTDOOR_ACTION_URL", _optional)
    telegram_base_url: str | None = _from_env("FRONTDOOR_TELEGRAM_BASE_URL", lambda _, raw: raw or None)
    # public base URL for Telegram webhooks (the app serves POST /telegram/<desk>); unset = long polling
    telegram_webhook_url: str | None = _from_env("FRONTDOOR_TELEGRAM_WEBHOOK_URL", _optional)
    # the on-duty staff chat that gets crisis and urgent-ticket alerts (the desk's bot must be a member)
    telegram_staff_chat_id: str | None = _from_env("FRONTDOOR_TELEGRAM_STAFF_CHAT_ID", _optional)
    # the on-call (值班/备班) Telegram chat: out of a desk's staff hours crisis alerts go here as well as to the
    # staff chat, and a crisis alert nobody acknowledged in time is escalated here; unset = no on-call roster
    oncall_chat_id: str | None = _from_env("FRONTDOOR_ONCALL_CHAT_ID", _optional)
    # in staff hours: minutes after a crisis handoff with no staff claim, reply or take-over before the person
    # is told that nobody has joined yet (12356, 110/120 first) and the alert is escalated to the on-call chat
    crisis_ack_minutes: int = _from_env("FRONTDOOR_CRISIS_ACK_MINUTES", _bounded_int("5", 1, 120))
    # the same for an ordinary 转人工 handoff: the person is offered to leave the matter with a callback time
    handoff_ack_minutes: int = _from_env("FRONTDOOR_HANDOFF_ACK_MINUTES", _bounded_int("10", 1, 240))
    desks: tuple[str, ...] = _from_env(
        "FRONTDOOR_DESKS", lambda _, raw: tuple((raw if raw is not None else "12345,12355").split(","))
    )
    # staff hours per desk, e.g. "12355=09:00-18:00,12345=24h" (China time); a desk it does not name keeps
    # DEFAULT_STAFF_HOURS. bot.intake.hours parses it: a part it cannot read is logged and skipped
    staff_hours: str = _from_env("FRONTDOOR_STAFF_HOURS", _text(DEFAULT_STAFF_HOURS))
    # seconds between runs of the follow-up (回访) scheduler and SLA alerts in the app; 0 = off
    follow_up_interval: float = _from_env("FRONTDOOR_FOLLOW_UP_INTERVAL", _follow_up_interval)
    # WeChat's API server; the fake one (python -m tools.fake_wechat) for local trials and tests
    wechat_api_base: str = _from_env("FRONTDOOR_WECHAT_API_BASE", _text("https://api.weixin.qq.com"))
    # WeCom's API server (微信客服: gettoken, kf/sync_msg, kf/send_msg); the fake one for trials and tests
    wechat_kf_api_base: str = _from_env("FRONTDOOR_WECHAT_KF_API_BASE", _text("https://qyapi.weixin.qq.com"))
    # --- limits (bot/security): token buckets checked before anything is stored; COUNT/SECONDS, 0/… = off
    # proxies whose X-Forwarded-For is believed (CIDRs, comma-separated); default none: the peer is the client
    # (checked when the app is built: bot/security/client_address.py)
    trusted_proxies: tuple[str, ...] = _from_env(
        "FRONTDOOR_TRUSTED_PROXIES", lambda _, raw: tuple(p.strip() for p in (raw or "").split(",") if p.strip())
    )
    # chat messages (POST /api/chat/<desk>, Telegram webhook) per client address
    limit_ip_messages: Rate = _from_env("FRONTDOOR_LIMIT_IP_MESSAGES", _rate("60/60"))
    # other public requests (chat page, polling, static files) per client address
    limit_ip_requests: Rate = _from_env("FRONTDOOR_LIMIT_IP_REQUESTS", _rate("600/60"))
    # chat messages per integration key (Authorization: Bearer fdk_<key_id>_...)
    limit_key_messages: Rate = _from_env("FRONTDOOR_LIMIT_KEY_MESSAGES", _rate("600/60"))
    # chat messages from everyone together: what the stack can answer (about 30/s on 2 cores)
    limit_global_messages: Rate = _from_env("FRONTDOOR_LIMIT_GLOBAL_MESSAGES", _rate("1800/60"))
    # new conversations (a sender never seen before) per client address
    limit_new_conversations: Rate = _from_env("FRONTDOOR_LIMIT_NEW_CONVERSATIONS", _rate("30/600"))
    # messages per conversation (any channel, Telegram long polling included)
    limit_conversation_messages: Rate = _from_env("FRONTDOOR_LIMIT_CONVERSATION_MESSAGES", _rate("20/30"))
    # console login posts per client address: only a flood cap (each try costs an argon2 hash); accounts
    # are protected by the console's own throttling (bot/console/throttle.py), so it is set high enough
    # that a sprayer behind an office's shared proxy cannot lock colleagues out through it
    limit_login: Rate = _from_env("FRONTDOOR_LIMIT_LOGIN", _rate("120/60"))
    # buckets each limiter keeps (least recently used dropped first): bounds the memory a flood can take
    limit_max_keys: int = _from_env("FRONTDOOR_LIMIT_MAX_KEYS", _bounded_int("10000", 100, 1_000_000))
    # staff alerts: after this many crisis alerts in the window, one summary line per minute instead
    alert_coalesce: Rate = _from_env("FRONTDOOR_ALERT_COALESCE", _rate("5/300"))
    # a source (client address or key) with this many crisis conversations in the window is marked bulk
    alert_bulk_source: Rate = _from_env("FRONTDOOR_ALERT_BULK_SOURCE", _rate("3/300"))
    # retention (bot/retention, README "Personal data"): days each class of personal data is kept
    # raw chat turns (gw_inbound/gw_outbound, Telegram updates, Rasa tracker events) of conversations with no open ticket
    retain_chat_days: int = _from_env("FRONTDOOR_RETAIN_CHAT_DAYS", _bounded_int("30", 1, 3650))
    # a ticket's transcript, notes and summary are anonymised this many days after it is closed
    retain_ticket_days: int = _from_env("FRONTDOOR_RETAIN_TICKET_DAYS", _bounded_int("180", 1, 3650))
    # contact details (phone, WeChat, e-mail) are deleted this many days after the ticket is closed
    retain_contact_days: int = _from_env("FRONTDOOR_RETAIN_CONTACT_DAYS", _bounded_int("30", 1, 3650))
    # matters a person listed and has not come back to (gw_conversations.pending_matters)
    retain_matters_days: int = _from_env("FRONTDOOR_RETAIN_MATTERS_DAYS", _bounded_int("7", 1, 3650))
    # log files under <data dir>/logs (rotated daily by the purge)
    retain_log_days: int = _from_env("FRONTDOOR_RETAIN_LOG_DAYS", _bounded_int("30", 1, 3650))
    # staff console sessions and login attempts
    retain_session_days: int = _from_env("FRONTDOOR_RETAIN_SESSION_DAYS", _bounded_int("30", 1, 3650))
    # hours between scheduled purges in the app (one process runs them, under a database lease); 0 = off
    purge_interval_hours: int = _from_env("FRONTDOOR_PURGE_INTERVAL_HOURS", _bounded_int("24", 0, 720))
    # several app instances on one PostgreSQL database (README "Several instances"): this instance's name
    # in leases and in-flight rows; unset: "<host>:<pid>" (a stable name lets a restart reclaim its own rows)
    instance_id: str = _from_env("FRONTDOOR_INSTANCE_ID", lambda _, raw: (raw or "").strip() or _default_instance())
    # seconds an inbound message in flight stays with its instance before another may answer it
    inbound_lease_seconds: int = _from_env("FRONTDOOR_INBOUND_LEASE_SECONDS", _bounded_int("60", 2, 3600))
    # seconds a queued message being sent stays claimed before another instance may send it again
    outbound_lease_seconds: int = _from_env("FRONTDOOR_OUTBOUND_LEASE_SECONDS", _bounded_int("120", 2, 3600))
    # seconds a leader lease (return visits and SLA alerts, Telegram polling) lasts without renewal
    leader_lease_seconds: int = _from_env("FRONTDOOR_LEADER_LEASE_SECONDS", _bounded_int("30", 2, 3600))
    # seconds between looks for catalogue versions saved on another instance (PostgreSQL only)
    catalogue_poll_seconds: float = _from_env("FRONTDOOR_CATALOGUE_POLL_SECONDS", _number("1", float))
    # what the embedding cache keeps on disk: "reference" (catalogue and FAQ texts only; live messages
    # stay in a bounded memory cache) or "all" (benchmarks on public data: every text, for speed)
    embedding_disk_cache: str = _from_env(
        "FRONTDOOR_EMBEDDING_DISK_CACHE", lambda name, raw: _choice(name, raw, ("reference", "all"))
    )
    # the launcher sets 1 for the action server: its worker opens the ticket store at start (actions/warm_up.py)
    warm_up: bool = _from_env("FRONTDOOR_WARM_UP", _warm_up)
    # days a web chat token may go unused before it is refused (the page then starts a new conversation)
    chat_token_idle_days: int = _from_env("FRONTDOOR_CHAT_TOKEN_IDLE_DAYS", _bounded_int("30", 1, 3650))
    # the console's session cookie is Secure (named __Host-fd_session) and its pages send HSTS; unset:
    # on, unless FRONTDOOR_HOST is a loopback name (a local trial over plain http)
    cookie_secure: bool = _from_env("FRONTDOOR_COOKIE_SECURE", _switch(None))
    # supervisors and admins must set up TOTP (an authenticator app) at their next login; on by default
    console_require_mfa: bool = _from_env("FRONTDOOR_CONSOLE_REQUIRE_MFA", _switch(True))

    # secrets: read when asked for (properties below), never stored in the object or its repr
    SECRETS: ClassVar[dict[str, str]] = {
        "rasa_token": "FRONTDOOR_RASA_TOKEN",
        "secret_key": "FRONTDOOR_SECRET_KEY",
        "telegram_webhook_secret": "FRONTDOOR_TELEGRAM_WEBHOOK_SECRET",
        "admin_password": "FRONTDOOR_ADMIN_PASSWORD",
        "action_token": "FRONTDOOR_ACTION_TOKEN",
        "redis_url": "FRONTDOOR_REDIS_URL",
    }

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'frontdoor.db'}")
        if not self.embedding_model:
            object.__setattr__(self, "embedding_model", str(self.cache_dir / "models" / DEFAULT_MODEL_NAME))
        if self.cookie_secure is None:
            object.__setattr__(self, "cookie_secure", self.host.strip().strip("[]").lower() not in LOCAL_HOSTS)

    @classmethod
    def variables(cls) -> tuple[tuple[str, str], ...]:
        """(environment variable, attribute) for every FRONTDOOR_* variable read here; a desk's Telegram
        token is listed as FRONTDOOR_TELEGRAM_TOKEN_<desk> (attribute `telegram_token`, a method)."""
        read = [(f.metadata[_ENV], f.name) for f in fields(cls) if _ENV in f.metadata]
        read += [(name, attribute) for attribute, name in cls.SECRETS.items()]
        read.append((f"{TELEGRAM_TOKEN_PREFIX}<desk>", "telegram_token"))
        read += [(f"{WECHAT_PREFIX}<desk>_{part}", "wechat_account") for part in WECHAT_PARTS]
        read += [(f"{WECHAT_KF_PREFIX}<desk>_{part}", "wechat_kf_account") for part in WECHAT_KF_PARTS]
        return tuple(read)

    @property
    def rasa_token(self) -> str:
        """Token for Rasa's HTTP API (given to `rasa run --auth-token` inside bot/nlu/rasa_server.py, not on the command line)."""
        return self._require("rasa_token")

    @property
    def action_token(self) -> str | None:
        """Shared secret of the action server (Rasa sends it as `?token=`); unset: the launcher makes one per start."""
        return _secret(self.SECRETS["action_token"])

    @property
    def redis_url(self) -> str | None:
        """Redis shared by app instances (rate limits, alert memory); unset: each process's own memory.
        A secret because the URL may carry a password (redis://:password@host:6379/0)."""
        return _secret(self.SECRETS["redis_url"])

    @property
    def secret_key(self) -> str:
        """Signs staff console sessions and CSRF tokens."""
        return self._require("secret_key")

    @property
    def telegram_webhook_secret(self) -> str | None:
        """Telegram sends it in X-Telegram-Bot-Api-Secret-Token; required when a webhook URL is set."""
        return _secret(self.SECRETS["telegram_webhook_secret"])

    @property
    def admin_password(self) -> str | None:
        """The password `make admin` gives the new admin, exactly as set (unset or empty: ask for it)."""
        return os.environ.get(self.SECRETS["admin_password"]) or None

    @staticmethod
    def telegram_token(desk: str) -> str | None:
        """The Telegram bot token of one desk, if that desk has a Telegram bot."""
        return _secret(f"{TELEGRAM_TOKEN_PREFIX}{desk}")

    @staticmethod
    def wechat_account(desk: str) -> WeChatAccount | None:
        """The desk's WeChat Official Account, or None when it has none (the channel is off).

        AppID, AppSecret and Token are all needed; a partial configuration is an error that names
        what is missing. Without an EncodingAESKey the account runs in plain mode (local trials).
        """
        values = _account_secrets("WeChat", WECHAT_PREFIX, desk, WECHAT_PARTS, WECHAT_PARTS[:3])
        if values is None:
            return None
        return WeChatAccount(
            desk=desk,
            app_id=values["APPID"] or "",
            secret=values["SECRET"] or "",
            token=values["TOKEN"] or "",
            aes_key=values["AES_KEY"],
            aes_key_previous=values["AES_KEY_PREVIOUS"],
        )

    @staticmethod
    def wechat_kf_account(desk: str) -> WeChatKfAccount | None:
        """The desk's 微信客服 (WeCom) account, or None when it has none (that channel is off).

        Everything but the previous EncodingAESKey is needed; a partial configuration names what is missing.
        """
        values = _account_secrets("微信客服", WECHAT_KF_PREFIX, desk, WECHAT_KF_PARTS, WECHAT_KF_PARTS[:-1])
        if values is None:
            return None
        return WeChatKfAccount(
            desk=desk,
            corp_id=values["CORPID"] or "",
            secret=values["SECRET"] or "",
            open_kfid=values["OPEN_KFID"] or "",
            token=values["TOKEN"] or "",
            aes_key=values["AES_KEY"] or "",
            aes_key_previous=values["AES_KEY_PREVIOUS"],
        )

    @classmethod
    def _require(cls, attribute: str) -> str:
        name = cls.SECRETS[attribute]
        value = _secret(name)
        if value is None:
            raise MissingSecretError(
                f"{name} is not set. Set it in the environment (for a local trial, `make run` generates one)."
            )
        return value


def _secret(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def get_settings() -> Settings:
    """Read the environment now (tests change it between calls, so nothing is cached here)."""
    return Settings()


def _account_secrets(
    label: str, prefix: str, desk: str, parts: Sequence[str], required: Sequence[str]
) -> dict[str, str | None] | None:
    """The desk's `<prefix><desk>_<part>` secrets; None when none is set (the channel is off), and a
    MissingSecretError naming what is missing when only some of `required` are."""
    values = {part: _secret(f"{prefix}{desk}_{part}") for part in parts}
    if not any(values.values()):
        return None
    missing = [f"{prefix}{desk}_{part}" for part in required if not values[part]]
    if missing:
        raise MissingSecretError(f"{label} for desk {desk} is half configured: set {', '.join(missing)}")
    return values
