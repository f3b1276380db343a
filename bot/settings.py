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
from collections.abc import Callable
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
class Settings:
    """Every setting of the app; the README's settings table documents each environment variable."""

    data_dir: Path = _from_env("FRONTDOOR_DATA_DIR", lambda _, raw: Path(REPO_ROOT / "var" if raw is None else raw))
    cache_dir: Path = _from_env(
        "FRONTDOOR_CACHE_DIR", lambda _, raw: _default_cache_dir() if raw is None else Path(raw)
    )
    database_url: str = _from_env("FRONTDOOR_DATABASE_URL", _text(""))
    embedding_model: str = _from_env("FRONTDOOR_EMBEDDING_MODEL", _text(""))
    host: str = _from_env("FRONTDOOR_HOST", _text("127.0.0.1"))
    port: int = _from_env("FRONTDOOR_PORT", _number("8000", int))
    # one URL, or several comma-separated Rasa replicas (each conversation sticks to one of them)
    rasa_url: str = _from_env("FRONTDOOR_RASA_URL", _text("http://127.0.0.1:5005"))
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
    desks: tuple[str, ...] = _from_env(
        "FRONTDOOR_DESKS", lambda _, raw: tuple((raw if raw is not None else "12345,12355").split(","))
    )
    # staff hours per desk, e.g. "12355=09:00-18:00,12345=24h" (China time); a desk it does not name keeps
    # DEFAULT_STAFF_HOURS. bot.intake.hours parses it: a part it cannot read is logged and skipped
    staff_hours: str = _from_env("FRONTDOOR_STAFF_HOURS", _text(DEFAULT_STAFF_HOURS))
    # seconds between runs of the follow-up (回访) scheduler and SLA alerts in the app; 0 = off
    follow_up_interval: float = _from_env("FRONTDOOR_FOLLOW_UP_INTERVAL", _follow_up_interval)
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
    # what the embedding cache keeps on disk: "reference" (catalogue and FAQ texts only; live messages
    # stay in a bounded memory cache) or "all" (benchmarks on public data: every text, for speed)
    embedding_disk_cache: str = _from_env(
        "FRONTDOOR_EMBEDDING_DISK_CACHE", lambda name, raw: _choice(name, raw, ("reference", "all"))
    )
    # the launcher sets 1 for the action server: its worker opens the ticket store at start (actions/warm_up.py)
    warm_up: bool = _from_env("FRONTDOOR_WARM_UP", _warm_up)

    # secrets: read when asked for (properties below), never stored in the object or its repr
    SECRETS: ClassVar[dict[str, str]] = {
        "rasa_token": "FRONTDOOR_RASA_TOKEN",
        "secret_key": "FRONTDOOR_SECRET_KEY",
        "staff_api_token": "FRONTDOOR_STAFF_API_TOKEN",
        "telegram_webhook_secret": "FRONTDOOR_TELEGRAM_WEBHOOK_SECRET",
        "admin_password": "FRONTDOOR_ADMIN_PASSWORD",
    }

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'frontdoor.db'}")
        if not self.embedding_model:
            object.__setattr__(self, "embedding_model", str(self.cache_dir / "models" / DEFAULT_MODEL_NAME))

    @classmethod
    def variables(cls) -> tuple[tuple[str, str], ...]:
        """(environment variable, attribute) for every FRONTDOOR_* variable read here; a desk's Telegram
        token is listed as FRONTDOOR_TELEGRAM_TOKEN_<desk> (attribute `telegram_token`, a method)."""
        read = [(f.metadata[_ENV], f.name) for f in fields(cls) if _ENV in f.metadata]
        read += [(name, attribute) for attribute, name in cls.SECRETS.items()]
        read.append((f"{TELEGRAM_TOKEN_PREFIX}<desk>", "telegram_token"))
        return tuple(read)

    @property
    def rasa_token(self) -> str:
        """Token for Rasa's HTTP API (`rasa run --auth-token`)."""
        return self._require("rasa_token")

    @property
    def secret_key(self) -> str:
        """Signs staff console sessions and CSRF tokens."""
        return self._require("secret_key")

    @property
    def staff_api_token(self) -> str:
        """Bearer token of the staff REST API (replies, handoff)."""
        return self._require("staff_api_token")

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
