"""Faults with real processes: Rasa down, Rasa slow, the action server killed, the app killed mid-turn.

Extra app processes (uvicorn, the same command the launcher uses) run beside the shared stack, each
with its own database, pointed at a controllable local HTTP peer that plays a broken Rasa.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot import privacy_notice
from bot.gateway import messages
from bot.settings import REPO_ROOT
from tests.e2e.conftest import RunningStack, free_port
from tests.support.identity import web_session
from tests.support.servers import ThreadedServer

pytestmark = pytest.mark.integration

ORDINARY = "我们小区门口的路灯坏了好几天，晚上很危险"
_TOKENS: dict[tuple[Path, str], dict[str, str]] = {}
"""The web chat token of each (data folder, person): two app processes on one database share them."""
CRISIS = "我不想活了，今晚就想结束这一切"


class BrokenRasa:
    """Rasa that is down (not listening), slow, or hanging; started and stopped by the test."""

    def __init__(self) -> None:
        self._http = ThreadedServer()  # holds its port from now on: down (refused) until start
        self.port = self._http.port
        self.delay = 0.0
        self.calls = 0
        self.arrived_at = 0.0

    async def _webhook(self, request: Request) -> JSONResponse:
        self.calls += 1
        self.arrived_at = time.monotonic()
        await asyncio.sleep(self.delay)
        return JSONResponse([{"text": "太慢了，不该被看到"}])

    async def _status(self, request: Request) -> JSONResponse:
        return JSONResponse({"version": "broken"})

    def start(self, delay: float) -> None:
        self.delay = delay
        app = Starlette(
            routes=[Route("/webhooks/rest/webhook", self._webhook, methods=["POST"]), Route("/", self._status)]
        )
        self._http.start(app)

    def stop(self) -> None:
        self._http.stop()


@dataclass
class AppProcess:
    """One app process (gateway + channels) with its own data directory."""

    data_dir: Path
    rasa_url: str
    rasa_timeout: float
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AppProcess:
        self.port = free_port()
        env = {
            **os.environ,
            "FRONTDOOR_DATA_DIR": str(self.data_dir),
            "FRONTDOOR_RASA_URL": self.rasa_url,
            "FRONTDOOR_RASA_TIMEOUT": str(self.rasa_timeout),
            "PYTHONPATH": str(REPO_ROOT),
            "TMPDIR": str(self.data_dir),
        }
        env = {k: v for k, v in env.items() if not k.startswith("FRONTDOOR_TELEGRAM_")}
        log = open(self.data_dir / f"app-{self.port}.log", "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            [
                str(REPO_ROOT / ".venv-app/bin/python"),
                "-m",
                "uvicorn",
                "bot.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 180  # /healthz answers 200 once the triage models are loaded
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.data_dir / f"app-{self.port}.log").read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError("the app did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def web(self, person: str) -> dict[str, str]:
        """The chat token header of `person` (a label of the test) in this data folder's database."""
        if (self.data_dir, person) not in _TOKENS:
            with httpx.Client(base_url=self.url, timeout=10) as client:
                _TOKENS[(self.data_dir, person)] = web_session(client, "12345")[0]
        return _TOKENS[(self.data_dir, person)]

    def chat(self, person: str, text: str, message_id: str | None = None, timeout: float = 120) -> list[str]:
        body = {"text": text, "message_id": message_id}
        response = httpx.post(f"{self.url}/api/chat/12345", json=body, headers=self.web(person), timeout=timeout)
        assert response.status_code == 200, response.text
        return [r["text"] for r in response.json()["replies"]]

    def db(self, query: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.data_dir / "frontdoor.db", timeout=10) as connection:
            return connection.execute(query).fetchall()


@pytest.fixture
def broken_rasa() -> Iterator[BrokenRasa]:
    peer = BrokenRasa()
    yield peer
    peer.stop()


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[list[AppProcess]]:
    started: list[AppProcess] = []
    yield started
    for app in started:
        app.kill()


def test_rasa_down_or_slow_gets_an_apology_and_a_crisis_still_gets_the_numbers(
    running_stack: RunningStack, broken_rasa: BrokenRasa, apps: list[AppProcess], tmp_path: Path
) -> None:
    app = AppProcess(tmp_path, f"http://127.0.0.1:{broken_rasa.port}", rasa_timeout=1).start()
    apps.append(app)
    # Rasa down: nothing listens on its port
    crisis = "\n".join(app.chat("down-1", CRISIS))
    assert "12356" in crisis and "110" in crisis
    assert app.chat("down-2", ORDINARY) == [privacy_notice.notice("12345"), messages.backend_down("12345")]
    # Rasa slow: answers after 5 s, the gateway gives up after 1 s
    broken_rasa.start(delay=5)
    assert app.chat("slow-1", "你好，我想问一下办事大厅几点开门")[-1:] == [messages.backend_down("12345")]
    assert time.monotonic() - broken_rasa.arrived_at < 3  # measured from the Rasa call, not the safety screen
    assert broken_rasa.calls == 1  # a timeout is not retried: Rasa may have acted on the message
    assert app.db("SELECT status FROM gw_inbound") == [("answered",)] * 3


def test_action_server_down_gets_an_apology_and_a_crisis_still_gets_the_numbers(running_stack: RunningStack) -> None:
    stack = running_stack.stack
    stack.kill("action server")
    try:
        replies = running_stack.chat("12345", "e2e-noactions-1", ORDINARY)
        assert [r["text"] for r in replies] == [privacy_notice.notice("12345"), messages.backend_down("12345")]
        crisis = "\n".join(str(r["text"]) for r in running_stack.chat("12355", "e2e-noactions-2", CRISIS))
        assert "12356" in crisis and "110" in crisis and "12355" in crisis
    finally:
        stack.restart("action server")
    reply = running_stack.chat("12345", "e2e-noactions-3", "你好")  # back to normal
    assert reply and messages.backend_down("12345") not in [str(r["text"]) for r in reply]


def test_a_message_received_when_the_app_was_killed_is_answered_once_after_restart(
    running_stack: RunningStack, broken_rasa: BrokenRasa, apps: list[AppProcess], tmp_path: Path
) -> None:
    broken_rasa.start(delay=120)  # Rasa hangs: the turn cannot finish before the kill
    first = AppProcess(tmp_path, f"http://127.0.0.1:{broken_rasa.port}", rasa_timeout=60).start()
    apps.append(first)
    sender = "killed-1"
    threading.Thread(target=lambda: _quietly(first.chat, sender, "你好", "msg-1"), daemon=True).start()
    deadline = time.monotonic() + 30
    while first.db("SELECT status FROM gw_inbound") != [("received",)]:
        assert time.monotonic() < deadline, "the message was never persisted"
        time.sleep(0.02)
    first.kill()  # SIGKILL between receiving and replying

    second = AppProcess(tmp_path, running_stack.rasa_url, rasa_timeout=30).start()  # Rasa healthy again
    apps.append(second)
    updates_url = f"{second.url}/api/chat/12345/updates"
    found: list[dict[str, object]] = []
    deadline = time.monotonic() + 120
    while not found:
        assert time.monotonic() < deadline, "the recovered message was never answered"
        found = httpx.get(updates_url, params={"after": 0}, headers=second.web(sender), timeout=10).json()["messages"]
        time.sleep(0.3)
    assert str(found[0]["text"]) == privacy_notice.notice("12345")  # first contact: the notice first
    assert "在线助手" in str(found[-1]["text"])  # the desk's greeting, from the real Rasa
    time.sleep(1.0)
    last = max(int(str(m["id"])) for m in found)
    again = httpx.get(updates_url, params={"after": last}, headers=second.web(sender), timeout=10).json()
    assert again["messages"] == []
    # the browser reconnects and resends the same message id: the stored answer, not a second turn
    assert second.chat(sender, "你好", "msg-1") == [str(m["text"]) for m in found]
    assert second.db("SELECT status FROM gw_inbound") == [("answered",)]
    outbound = second.db("SELECT inbound_id, delivery FROM gw_outbound")
    assert outbound == [(1, "queue")] * len(found)


def _quietly(call: Callable[..., object], *args: str) -> None:
    with contextlib.suppress(Exception):  # the process is killed under it: expected
        call(*args)
