"""One settings object, read from the environment.

Secrets have no default: a process that needs one and does not find it stops with a message that
says which variable to set (`make run` generates local ones and says so). Everything else has a
default that works on one machine with no external service.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_NAME = "multilingual-e5-small"


class MissingSecretError(RuntimeError):
    """A secret that has no default was not set in the environment."""


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("FRONTDOOR_CACHE_DIR", Path(base) / "front-door"))


def _secret(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _int_setting(name: str, default: str, low: int, high: int) -> int:
    raw = os.environ.get(name, default).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, not {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low} to {high}, not {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Every setting of the app; the README's settings table documents each environment variable."""

    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("FRONTDOOR_DATA_DIR", REPO_ROOT / "var")))
    cache_dir: Path = field(default_factory=_cache_dir)
    database_url: str = field(default_factory=lambda: os.environ.get("FRONTDOOR_DATABASE_URL", ""))
    embedding_model: str = field(default_factory=lambda: os.environ.get("FRONTDOOR_EMBEDDING_MODEL", ""))
    host: str = field(default_factory=lambda: os.environ.get("FRONTDOOR_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(os.environ.get("FRONTDOOR_PORT", "8000")))
    # one URL, or several comma-separated Rasa replicas (each conversation sticks to one of them)
    rasa_url: str = field(default_factory=lambda: os.environ.get("FRONTDOOR_RASA_URL", "http://127.0.0.1:5005"))
    # torch threads of the embedding model per process (0 = one per core); the launcher sets 1 for servers
    torch_threads: int = field(default_factory=lambda: _int_setting("FRONTDOOR_TORCH_THREADS", "0", 0, 64))
    # the port `make run` starts Rasa on; replica i listens on rasa_port + i
    rasa_port: int = field(default_factory=lambda: _int_setting("FRONTDOOR_RASA_PORT", "5005", 1, 65535))
    # how many Rasa processes `make run` starts: one per core is the most useful
    rasa_replicas: int = field(default_factory=lambda: _int_setting("FRONTDOOR_RASA_REPLICAS", "1", 1, 8))
    action_server_port: int = field(default_factory=lambda: int(os.environ.get("FRONTDOOR_ACTION_PORT", "5055")))
    rasa_timeout_seconds: float = field(default_factory=lambda: float(os.environ.get("FRONTDOOR_RASA_TIMEOUT", "10")))
    # the action server's webhook URL, as Rasa calls it; when set the gateway also checks the server's health
    action_url: str | None = field(default_factory=lambda: os.environ.get("FRONTDOOR_ACTION_URL", "").strip() or None)
    telegram_base_url: str | None = field(default_factory=lambda: os.environ.get("FRONTDOOR_TELEGRAM_BASE_URL") or None)
    # public base URL for Telegram webhooks (the app serves POST /telegram/<desk>); unset = long polling
    telegram_webhook_url: str | None = field(
        default_factory=lambda: os.environ.get("FRONTDOOR_TELEGRAM_WEBHOOK_URL", "").strip() or None
    )
    # the on-duty staff chat that gets crisis and urgent-ticket alerts (the desk's bot must be a member)
    telegram_staff_chat_id: str | None = field(
        default_factory=lambda: os.environ.get("FRONTDOOR_TELEGRAM_STAFF_CHAT_ID", "").strip() or None
    )
    desks: tuple[str, ...] = field(
        default_factory=lambda: tuple(os.environ.get("FRONTDOOR_DESKS", "12345,12355").split(","))
    )

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'frontdoor.db'}")
        if not self.embedding_model:
            object.__setattr__(self, "embedding_model", str(self.cache_dir / "models" / DEFAULT_MODEL_NAME))

    @property
    def rasa_token(self) -> str:
        """Token for Rasa's HTTP API (`rasa run --auth-token`)."""
        return self._require("FRONTDOOR_RASA_TOKEN")

    @property
    def secret_key(self) -> str:
        """Signs staff console sessions and CSRF tokens."""
        return self._require("FRONTDOOR_SECRET_KEY")

    @property
    def staff_api_token(self) -> str:
        """Bearer token of the staff REST API (replies, handoff)."""
        return self._require("FRONTDOOR_STAFF_API_TOKEN")

    @property
    def telegram_webhook_secret(self) -> str | None:
        """Telegram sends it in X-Telegram-Bot-Api-Secret-Token; required when a webhook URL is set."""
        return _secret("FRONTDOOR_TELEGRAM_WEBHOOK_SECRET")

    @staticmethod
    def telegram_token(desk: str) -> str | None:
        """The Telegram bot token of one desk, if that desk has a Telegram bot."""
        return _secret(f"FRONTDOOR_TELEGRAM_TOKEN_{desk}")

    @staticmethod
    def _require(name: str) -> str:
        value = _secret(name)
        if value is None:
            raise MissingSecretError(
                f"{name} is not set. Set it in the environment (for a local trial, `make run` generates one)."
            )
        return value


def get_settings() -> Settings:
    """Read the environment now (tests change it between calls, so nothing is cached here)."""
    return Settings()
