"""The real python-telegram-bot client against a local fake Bot API server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from bot.channels.telegram import (
    NOT_TEXT,
    TELEGRAM_MAX_CHARS,
    TelegramChannel,
    split_message,
    start_polling,
    stop_polling,
)
from bot.gateway.rasa_client import RasaClient
from bot.gateway.service import Gateway, SafetyVerdict
from tests.channels.fake_telegram import FakeTelegram


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def echo_rasa(request: httpx.Request) -> httpx.Response:
    import json

    message = json.loads(request.content)["message"]
    if message == "长":
        return httpx.Response(200, json=[{"text": "很长的回答。" * 1000}])
    return httpx.Response(200, json=[{"text": f"回声：{message}", "buttons": [{"title": "有帮助", "payload": "/affirm"}]}])


def no_risk(text: str, desk: str, history: Sequence[str]) -> SafetyVerdict:
    return SafetyVerdict(route=None)


@pytest.fixture
async def telegram(tmp_path: Path) -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram(port=free_port())
    server, thread = fake.serve()
    gateway = Gateway(
        create_engine(f"sqlite:///{tmp_path / 'gw.db'}"),
        RasaClient("http://rasa.test", transport=httpx.MockTransport(echo_rasa)),
        safety_screen=no_risk,
    )
    application = TelegramChannel("12345", gateway).build("123:TEST", base_url=f"http://127.0.0.1:{fake.port}")
    await start_polling(application)
    try:
        yield fake
    finally:
        await stop_polling(application)
        server.should_exit = True
        thread.join(timeout=5)


async def wait(fake: FakeTelegram, condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    await asyncio.to_thread(fake.wait_for, condition, timeout)


async def test_text_message_is_answered_with_an_inline_keyboard(telegram: FakeTelegram) -> None:
    telegram.user_sends(7, "路灯坏了")
    await wait(telegram, lambda: telegram.texts_to(7))
    assert telegram.texts_to(7) == ["回声：路灯坏了"]
    keyboard = telegram.sent[0]["reply_markup"]["inline_keyboard"]
    assert keyboard[0][0] == {"text": "有帮助", "callback_data": "/affirm"}


async def test_button_press_is_acknowledged_and_handled(telegram: FakeTelegram) -> None:
    telegram.user_presses(8, "/affirm")
    await wait(telegram, lambda: telegram.texts_to(8))
    assert telegram.answered_callbacks
    assert telegram.texts_to(8) == ["回声：/affirm"]


async def test_start_greets_through_the_bot_and_help_is_local(telegram: FakeTelegram) -> None:
    telegram.user_sends(9, "/start")
    telegram.user_sends(9, "/help")
    await wait(telegram, lambda: len(telegram.texts_to(9)) == 2)
    assert "回声：你好" in telegram.texts_to(9)
    assert any("/cancel" in t for t in telegram.texts_to(9))


async def test_sticker_gets_a_polite_request_for_text(telegram: FakeTelegram) -> None:
    telegram.user_sends_sticker(10)
    await wait(telegram, lambda: telegram.texts_to(10))
    assert telegram.texts_to(10) == [NOT_TEXT]


async def test_long_reply_is_split_under_the_limit(telegram: FakeTelegram) -> None:
    telegram.user_sends(11, "长")
    await wait(telegram, lambda: len(telegram.texts_to(11)) >= 2)
    assert all(len(t) <= TELEGRAM_MAX_CHARS for t in telegram.texts_to(11))
    assert "".join(telegram.texts_to(11)) == "很长的回答。" * 1000


async def test_flood_control_429_is_retried_after_retry_after(telegram: FakeTelegram) -> None:
    telegram.fail_next_sends_with_429 = 1
    telegram.user_sends(12, "你好")
    await wait(telegram, lambda: telegram.texts_to(12), timeout=30)
    assert telegram.texts_to(12) == ["回声：你好"]


def test_split_prefers_sentence_ends() -> None:
    parts = split_message("句子。" * 3000, limit=100)
    assert all(len(p) <= 100 and p.endswith("。") for p in parts)
