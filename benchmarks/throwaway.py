"""A throw-away front door for benchmarks: the whole stack on free loopback ports, fresh secrets,
a temp data folder and database, no Telegram; stopped and the environment restored afterwards.
The stack's local integration key (`stack.rest_key`, made by `Stack.start`) is what the benchmarks send to
the REST API; its people are "<desk>:rest:local:<sender>"."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.launcher import Stack, free_port, free_ports
from bot.settings import REPO_ROOT, Settings

MODEL = REPO_ROOT / "models" / "frontdoor.tar.gz"
LIMITS_OFF = {
    name: "0/60"
    for name, _ in Settings.variables()
    if name.startswith("FRONTDOOR_LIMIT_") and name != "FRONTDOOR_LIMIT_MAX_KEYS"
}
"""Every request of a benchmark comes from 127.0.0.1: throughput runs turn the abuse limits off
(bot/security); the abuse benchmark keeps them (`limits=True`)."""


@contextmanager
def throwaway_stack(
    prefix: str, rasa_replicas: int = 1, env: dict[str, str] | None = None, limits: bool = False
) -> Iterator[tuple[Stack, Path]]:
    """(the started stack, its data folder); `prefix` names the temp folder; `env` is set last (e.g. a
    fake Telegram server's URL and token); `limits`: the abuse limits at their defaults (else off)."""
    if not MODEL.exists():
        raise RuntimeError("no trained Rasa model: run `make train` first")
    saved = dict(os.environ)
    stack: Stack | None = None
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        try:
            os.environ.update(
                {
                    "FRONTDOOR_DATA_DIR": tmp,
                    "FRONTDOOR_RASA_TOKEN": secrets.token_urlsafe(16),
                    "FRONTDOOR_SECRET_KEY": secrets.token_urlsafe(16),
                }
            )
            for name in [k for k in os.environ if k.startswith("FRONTDOOR_TELEGRAM_")]:
                del os.environ[name]
            os.environ.pop("FRONTDOOR_DATABASE_URL", None)
            for name in [k for k in os.environ if k.startswith(("FRONTDOOR_LIMIT_", "FRONTDOOR_ALERT_"))]:
                del os.environ[name]
            os.environ.update({} if limits else LIMITS_OFF)
            os.environ.update(env or {})
            stack = Stack(
                Settings(),
                rasa_port=free_ports(rasa_replicas),
                rasa_replicas=rasa_replicas,
                action_port=free_port(),
                app_port=free_port(),
                model_path=MODEL,
            )
            stack.start(timeout=300, progress=False)
            yield stack, Path(tmp)
        finally:
            if stack is not None:
                stack.stop()
            os.environ.clear()
            os.environ.update(saved)
