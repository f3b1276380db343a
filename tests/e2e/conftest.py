"""A real front door (Rasa server, action server, app) started once for the end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from benchmarks.throwaway import LIMITS_OFF
from bot.launcher import Stack, free_port, free_ports
from bot.settings import REPO_ROOT, Settings

__all__ = ["RunningStack", "free_port", "started_stack"]  # free_port: the e2e tests import it from here


@contextlib.contextmanager
def started_stack(data_dir: Path, extra_env: dict[str, str] | None = None, rasa_replicas: int = 1) -> Iterator[Stack]:
    """A real front door on free loopback ports with fresh secrets; the environment is restored after."""
    model = REPO_ROOT / "models" / "frontdoor.tar.gz"
    if not model.exists():
        pytest.fail("no trained Rasa model: run `make train` (make test does it for you)")
    env = {
        "FRONTDOOR_DATA_DIR": str(data_dir),
        "FRONTDOOR_RASA_TOKEN": secrets.token_urlsafe(16),
        "FRONTDOOR_SECRET_KEY": secrets.token_urlsafe(16),
        # every test talks from 127.0.0.1 to one shared stack: the abuse limits (tests/security) are off
        **LIMITS_OFF,
        # every e2e conversation comes through one local key: with bulk marking on, a test's crisis
        # ticket would carry 疑似批量来源 depending on how many crises earlier tests made within 5
        # minutes (order-dependent); bulk sources are tested in tests/security
        "FRONTDOOR_ALERT_BULK_SOURCE": "0/300",
        **(extra_env or {}),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    stack = Stack(
        Settings(),
        rasa_port=free_ports(rasa_replicas),
        action_port=free_port(),
        app_port=free_port(),
        rasa_replicas=rasa_replicas,
        model_path=model,
    )
    try:
        stack.start(timeout=300, progress=False)
        yield stack
    finally:
        stack.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class RunningStack:
    stack: Stack
    app_url: str
    rasa_url: str
    rasa_token: str

    @property
    def headers(self) -> dict[str, str]:
        """The stack's local integration key (its people are "<desk>:rest:local:<sender>")."""
        return {"Authorization": f"Bearer {self.stack.rest_key}"}

    @staticmethod
    def conversation(desk: str, sender: str) -> str:
        """The conversation id of a sender of the local key."""
        return f"{desk}:rest:local:{sender}"

    def chat(self, desk: str, sender: str, text: str | None, message_id: str | None = None) -> list[dict[str, object]]:
        body: dict[str, object] = {"sender": sender, "text": text}
        if message_id:
            body["message_id"] = message_id
        response = httpx.post(f"{self.app_url}/api/chat/{desk}", json=body, headers=self.headers, timeout=60)
        assert response.status_code == 200, response.text
        replies = response.json()["replies"]
        assert isinstance(replies, list)
        return replies


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with started_stack(tmp_path_factory.mktemp("frontdoor-data")) as stack:
        yield RunningStack(
            stack,
            app_url=f"http://127.0.0.1:{stack.app_port}",
            rasa_url=f"http://127.0.0.1:{stack.rasa_port}",
            rasa_token=stack.settings.rasa_token,
        )
