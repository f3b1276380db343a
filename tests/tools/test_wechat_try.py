"""tools/wechat_try.py: `make wechat-try` runs this code with the whole front door; here the door is the
app alone (uvicorn on 127.0.0.1) with a fake Rasa, and everything else is the command's own path: the
fake WeChat, the settings that point the desk at it, WeChat's URL check and the simulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot import privacy_notice
from bot.app import create_app
from bot.settings import Settings
from tests.channels.fake_rasa import FakeRasaServer
from tests.decisions import no_risk
from tests.support.servers import serve_in_thread
from tools.wechat_try import trial


@pytest.fixture
def rasa() -> Iterator[FakeRasaServer]:
    fake = FakeRasaServer()
    server = fake.serve()
    yield fake
    server.stop(timeout=5)


def app_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rasa: FakeRasaServer):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_URL", f"http://127.0.0.1:{rasa.port}")
    monkeypatch.delenv("FRONTDOOR_RASA_TOKEN", raising=False)

    @contextmanager
    def door() -> Iterator[str]:
        server = serve_in_thread(create_app(Settings(), decide=no_risk))  # Settings read inside the trial
        try:
            yield server.url
        finally:
            server.stop(timeout=10)

    return door


@pytest.mark.parametrize(("desk", "kf"), [("12345", False), ("12355", True)])
def test_a_typed_message_gets_the_desks_privacy_notice_and_greeting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rasa: FakeRasaServer, desk: str, kf: bool
) -> None:
    shown: list[str] = []
    trial(desk, kf, ["你好", "/quit", "never sent"], shown.append, door=app_alone(tmp_path, monkeypatch, rasa))
    assert shown[0].endswith(": passed")  # WeChat's URL check of the callback URL
    replies = [line.removeprefix("bot> ") for line in shown if line.startswith("bot> ")]
    notice = privacy_notice.notice(desk)
    assert notice in replies[0]  # first contact: the desk's privacy notice ...
    assert any("回声：你好" in text for text in replies)  # ... and its answer (the real Rasa greets; this one echoes)
    assert [r["message"] for r in rasa.received] == ["你好"]  # "/quit" ended it: nothing more was sent
    assert not any(name.startswith("FRONTDOOR_WECHAT") for name in os.environ)  # the trial's settings are gone
