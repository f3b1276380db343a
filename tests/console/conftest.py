"""Fixtures of the console tests: the real app in-process, a fake clock, staff of both desks.

Rasa is not needed (nothing here talks to it); the gateway sees Rasa as down. Password hashing uses
cheap argon2 parameters so that logging in does not dominate the suite's time.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from console_support import PASSWORD, Staff
from starlette.testclient import TestClient

from bot.app import create_app
from bot.console import accounts
from bot.console.hot_topics import hashing_embedder
from bot.console.state import ConsoleState
from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.settings import Settings
from bot.tickets.models import Ticket
from tests.decisions import no_risk
from tests.support.clock import FakeClock


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated to head for the session; each test starts from a copy (migrating is slow)."""
    path = tmp_path_factory.mktemp("console-template") / "frontdoor.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # checkpoints the WAL: the main file alone is the whole database
    return path


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_database: Path) -> Settings:
    shutil.copyfile(migrated_database, tmp_path / "frontdoor.db")
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FRONTDOOR_DATABASE_URL", raising=False)
    monkeypatch.setenv("FRONTDOOR_SECRET_KEY", "console-test-secret-key-0123456789")
    monkeypatch.setenv("FRONTDOOR_RASA_URL", "http://127.0.0.1:9")  # nothing listens: Rasa is down
    monkeypatch.setenv("FRONTDOOR_RASA_TIMEOUT", "1")
    monkeypatch.setenv("FRONTDOOR_DESKS", "12345,12355")
    # MFA is on by default; its own tests (tests/security/test_console_security.py and
    # test_console_mfa.py) turn it on. Here staff sign in with the password alone, so that each test
    # does not have to spend TOTP steps on a clock that does not move.
    monkeypatch.setenv("FRONTDOOR_CONSOLE_REQUIRE_MFA", "0")
    monkeypatch.delenv("FRONTDOOR_COOKIE_SECURE", raising=False)
    monkeypatch.delenv("FRONTDOOR_HOST", raising=False)
    return Settings()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def console(settings: Settings, clock: FakeClock) -> Iterator[ConsoleState]:
    state = ConsoleState.open(settings, clock=clock, embedder=hashing_embedder())
    yield state
    state.close()


@pytest.fixture
def app(settings: Settings, console: ConsoleState) -> Any:
    application = create_app(settings, decide=no_risk)
    application.state.console = console
    return application


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def staff(console: ConsoleState) -> Staff:
    s = Staff()
    console.accounts.create_user(s.agent, PASSWORD, role="agent", desks=["12345"], display_name="李坐席")
    console.accounts.create_user(s.agent2, PASSWORD, role="agent", desks=["12345"], display_name="陈坐席")
    console.accounts.create_user(s.supervisor, PASSWORD, role="supervisor", desks=["12345"], display_name="王班长")
    console.accounts.create_user(s.admin, PASSWORD, role="admin", desks=["12345", "12355"], display_name="管理员")
    console.accounts.create_user(s.youth_agent, PASSWORD, role="agent", desks=["12355"], display_name="赵老师")
    return s


@pytest.fixture
def new_ticket(console: ConsoleState) -> Callable[..., Ticket]:
    counter = iter(range(1, 1_000_000))

    def create(**overrides: Any) -> Ticket:
        n = next(counter)
        values: dict[str, Any] = {
            "desk": "12345",
            "route": "ticket",
            "conversation_id": f"12345:web:person-{n}",
            "channel": "web",
            "idempotency_key": f"console-test-{n}",
            "summary": f"小区路灯坏了一周，第{n}号",
            "category": "urban_management",
            "category_l1": "城乡建设",
            "sla_first_response_hours": 4,
            "sla_resolution_hours": 72,
            "transcript": [("person", "我叫张三，电话13812345678，小区路灯坏了"), ("bot", "已为您登记。")],
            "triage_signals": {"confidence": 0.91, "signals": ["embedding:urban_management=0.91"]},
        }
        values.update(overrides)
        return console.store.create_ticket(**values)

    return create
