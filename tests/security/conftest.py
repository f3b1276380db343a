"""Fixtures of the console security tests: the real app in-process, a hand-moved clock, MFA required.

Unlike tests/console (where staff sign in with the password alone), FRONTDOOR_CONSOLE_REQUIRE_MFA
keeps its default here: supervisors and admins must set up and use TOTP. Requests can come from
chosen client addresses (`client_from`), to test the per-account and per-address limits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from bot.app import create_app
from bot.console import accounts
from bot.console.hot_topics import hashing_embedder
from bot.console.state import ConsoleState
from bot.settings import Settings
from tests.decisions import no_risk
from tests.support.clock import FakeClock

PASSWORD = "correct-horse-battery"
AGENT, SUPERVISOR, ADMIN = "li.agent", "wang.sup", "root.admin"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FRONTDOOR_DATABASE_URL", raising=False)
    monkeypatch.setenv("FRONTDOOR_SECRET_KEY", "security-test-secret-key-0123456789")
    monkeypatch.setenv("FRONTDOOR_RASA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("FRONTDOOR_RASA_TIMEOUT", "1")
    monkeypatch.setenv("FRONTDOOR_DESKS", "12345,12355")
    for name in ("FRONTDOOR_CONSOLE_REQUIRE_MFA", "FRONTDOOR_COOKIE_SECURE", "FRONTDOOR_HOST"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_console(environment: None, clock: FakeClock) -> Iterator[Callable[..., ConsoleState]]:
    """Opens the console state with the environment as set (plus any monkeypatched variables)."""
    opened: list[ConsoleState] = []

    def open_console() -> ConsoleState:
        state = ConsoleState.open(Settings(), clock=clock, embedder=hashing_embedder())
        opened.append(state)
        if state.accounts.get(AGENT) is None:
            state.accounts.create_user(AGENT, PASSWORD, role="agent", desks=["12345"])
            state.accounts.create_user(SUPERVISOR, PASSWORD, role="supervisor", desks=["12345"])
            state.accounts.create_user(ADMIN, PASSWORD, role="admin", desks=["12345", "12355"])
        return state

    yield open_console
    for state in opened:
        state.close()


@pytest.fixture
def console(make_console: Callable[..., ConsoleState]) -> ConsoleState:
    return make_console()


@pytest.fixture
def app(console: ConsoleState) -> Any:
    application = create_app(console.settings, decide=no_risk)
    application.state.console = console
    return application


@pytest.fixture
def client_from(app: Any) -> Iterator[Callable[..., TestClient]]:
    """A client whose requests come from `ip` (over `base_url`); closed at the end of the test."""
    clients: list[TestClient] = []

    def make(ip: str = "10.0.0.1", base_url: str = "http://testserver") -> TestClient:
        test_client = TestClient(app, base_url=base_url, follow_redirects=False, client=(ip, 50000))
        test_client.__enter__()
        clients.append(test_client)
        return test_client

    yield make
    for test_client in clients:
        test_client.__exit__(None, None, None)


@pytest.fixture
def client(client_from: Callable[..., TestClient]) -> TestClient:
    return client_from()
