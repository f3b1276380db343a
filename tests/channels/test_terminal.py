"""The terminal client (`make chat`) against a real app on loopback: it proves who it is like any client."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import create_app
from bot.channels import keys, terminal
from bot.settings import Settings
from tests.decisions import no_risk
from tests.support.servers import ThreadedServer, serve_in_thread


@pytest.fixture
def app_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ThreadedServer, object]]:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_URL", "http://127.0.0.1:9")  # Rasa down: the gateway apologises
    monkeypatch.setenv("FRONTDOOR_RASA_TIMEOUT", "1")
    app = create_app(Settings(), decide=no_risk)
    server = serve_in_thread(app, lifespan="on")
    yield server, app
    server.stop()


def chat_once(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    lines = iter(["你好"])

    def typed(_: str = "") -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", typed)
    assert terminal.main(["--desk", "12345", "--url", url]) == 0


def conversations(app: object) -> list[str]:
    with app.state.engine.connect() as connection:  # type: ignore[attr-defined]
        return [r[0] for r in connection.execute(text("SELECT id FROM gw_conversations"))]


def test_with_the_local_key_it_speaks_as_a_full_length_random_person(
    app_server: tuple[ThreadedServer, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, app = app_server
    keys.ensure_local_key(app.state.engine, tmp_path)  # type: ignore[attr-defined] - what `make run` does
    chat_once(monkeypatch, server.url)
    [conversation] = conversations(app)
    desk, channel, name, person = conversation.split(":")
    assert (desk, channel, name) == ("12345", "rest", "local")
    assert person.startswith("terminal-") and len(person.removeprefix("terminal-")) == 32


def test_without_a_key_it_uses_a_web_chat_token(
    app_server: tuple[ThreadedServer, object], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server, app = app_server
    chat_once(monkeypatch, server.url)
    [conversation] = conversations(app)
    assert conversation.startswith("12345:web:w") and "机器人>" in capsys.readouterr().out
