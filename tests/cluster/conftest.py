"""Two real app instances (separate uvicorn processes) on one real PostgreSQL database.

PostgreSQL comes from scripts/postgres.sh through the ticket store tests' session fixture (or
FRONTDOOR_TEST_POSTGRES_URL); each test gets a fresh, migrated database of its own. Rasa and the
Telegram Bot API are the loopback fakes of tests/channels, shared by both instances, so what they
received is what the cluster did. Every wait polls with a deadline; nothing sleeps for a fixed time
and hopes.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.db.engine import make_engine
from bot.db.migrate import migrate
from tests.channels.fake_rasa import FakeRasaServer
from tests.channels.fake_telegram import FakeTelegram
from tests.tickets.conftest import postgres_server  # noqa: F401  (the session's PostgreSQL server)

REPO = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3
"""The instances' inbound, outbound and leader leases: short, so fail-over happens within a test."""
TELEGRAM_TOKEN = "123:TEST"
_databases = itertools.count(1)


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `condition` until it returns something truthy (returned), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


@pytest.fixture
def cluster_db(postgres_server: str) -> Iterator[str]:  # noqa: F811
    """A fresh migrated database on the session's server; its URL."""
    name = f"cluster_{os.getpid()}_{next(_databases)}"
    admin = create_engine(make_url(postgres_server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    migrate(url)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(cluster_db: str) -> Iterator[Engine]:
    db = make_engine(cluster_db)
    yield db
    db.dispose()


@dataclass
class WatchfulRasa(FakeRasaServer):
    """The fake Rasa, also noting when two turns of one conversation overlap (they never should: one
    person's messages are answered one at a time, whichever instance has them). A message starting
    with "慢" is slow the first time it arrives (the turn a test kills an instance in)."""

    turn_seconds: float = 0.05
    slow_seconds: float = 60.0
    overlaps: list[str] = field(default_factory=list)
    _busy: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _seen: set[str] = field(default_factory=set)

    async def webhook(self, request: Request) -> JSONResponse:
        payload = await request.json()
        sender, message = str(payload["sender"]), str(payload["message"])
        self._busy[sender] += 1
        if self._busy[sender] > 1:
            self.overlaps.append(sender)
        try:
            self.received.append(payload)
            first = message not in self._seen
            self._seen.add(message)
            await asyncio.sleep(self.slow_seconds if message.startswith("慢") and first else self.turn_seconds)
            return JSONResponse([{"recipient_id": sender, "text": f"回声：{message}"}])
        finally:
            self._busy[sender] -= 1

    def texts(self) -> list[str]:
        return [str(p["message"]) for p in self.received]


@pytest.fixture
def rasa() -> Iterator[WatchfulRasa]:
    fake = WatchfulRasa()
    server = fake.serve()
    yield fake
    server.stop(timeout=5)


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    server = fake.serve()
    yield fake
    server.stop(timeout=5)


class Instance:
    """One app process: `python -m tests.cluster.instance` on a socket bound here."""

    def __init__(self, name: str, env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.cluster.instance", str(self._sock.fileno())],
            cwd=REPO,
            env=env,
            pass_fds=(self._sock.fileno(),),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 120.0) -> None:
        def up() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"instance {self.name} exited:\n{self.log()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout, f"instance {self.name} answers /healthz")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def kill(self) -> None:
        """kill -9: no shutdown, no lease released, connections dropped by the kernel."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._sock.close()
        self._log.close()


@pytest.fixture
def start_instance(
    cluster_db: str, rasa: WatchfulRasa, telegram: FakeTelegram, tmp_path: Path
) -> Iterator[Callable[..., Instance]]:
    """start_instance(name, **env) -> a ready instance on the test's database (stopped after the test)."""
    started: list[Instance] = []

    def start(name: str, telegram_bot: bool = False, **extra: str) -> Instance:
        data_dir = tmp_path / name
        data_dir.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDOOR_")}
        env.update(
            {
                "PYTHONPATH": str(REPO),
                "FRONTDOOR_DATABASE_URL": cluster_db,
                "FRONTDOOR_DATA_DIR": str(data_dir),
                "FRONTDOOR_CACHE_DIR": str(tmp_path / "cache"),
                "FRONTDOOR_SECRET_KEY": "cluster-test-secret-key-0123456789",
                "FRONTDOOR_RASA_URL": f"http://127.0.0.1:{rasa.port}",
                "FRONTDOOR_RASA_TIMEOUT": "90",
                "FRONTDOOR_INSTANCE_ID": name,
                "FRONTDOOR_INBOUND_LEASE_SECONDS": str(LEASE_SECONDS),
                "FRONTDOOR_OUTBOUND_LEASE_SECONDS": str(LEASE_SECONDS),
                "FRONTDOOR_LEADER_LEASE_SECONDS": str(LEASE_SECONDS),
                "FRONTDOOR_CATALOGUE_POLL_SECONDS": "0.5",
                "FRONTDOOR_PURGE_INTERVAL_HOURS": "0",
                "FRONTDOOR_CONSOLE_REQUIRE_MFA": "0",
                "FRONTDOOR_STAFF_HOURS": "12345=24h,12355=24h",
                **extra,
            }
        )
        if telegram_bot:
            env["FRONTDOOR_TELEGRAM_TOKEN_12345"] = TELEGRAM_TOKEN
            env["FRONTDOOR_TELEGRAM_BASE_URL"] = f"http://127.0.0.1:{telegram.port}"
        instance = Instance(name, env, tmp_path / f"{name}.log")
        started.append(instance)
        instance.wait_ready()
        return instance

    yield start
    for instance in started:
        instance.stop()
