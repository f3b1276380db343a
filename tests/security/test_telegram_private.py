# ruff: noqa: F811 - the fixtures are imported from tests/channels/test_telegram_channel.py
"""Telegram: the bot converses in private chats only; groups and the staff chat are never a conversation.

The whole app with its real python-telegram-bot client, against the local fake Bot API and fake Rasa
(the fixtures of tests/channels/test_telegram_channel.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bot.gateway.models import Conversation, TelegramUpdate
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.test_telegram_channel import (  # noqa: F401 - fixtures
    STAFF_CHAT,
    DoorOpener,
    door,
    rasa,
    rows,
    telegram,
    wait,
)

GROUP = -100555
SUPERGROUP = -100666


def _message(fake: FakeTelegram, chat_id: int, chat_type: str, text: str, sender: int = 31) -> dict[str, Any]:
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text.startswith("/") else []
    update = {
        "update_id": next(fake._update_ids),
        "message": {
            "message_id": next(fake._message_ids),
            "date": int(time.time()),
            "text": text,
            "entities": entities,
            "chat": {"id": chat_id, "type": chat_type, "title": "群"},
            "from": {"id": sender, "is_bot": False, "first_name": "G"},
        },
    }
    fake.updates.append(update)
    return update


def _press(fake: FakeTelegram, chat_id: int, chat_type: str, data: str, sender: int = 31) -> None:
    fake.updates.append(
        {
            "update_id": next(fake._update_ids),
            "callback_query": {
                "id": f"cb{next(fake._message_ids)}",
                "chat_instance": "ci",
                "data": data,
                "from": {"id": sender, "is_bot": False, "first_name": "G"},
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "text": "…",
                    "chat": {"id": chat_id, "type": chat_type, "title": "群"},
                },
            },
        }
    )


def _all_handled(tmp_path: Path, count: int) -> bool:
    handled = [u for u in rows(tmp_path, TelegramUpdate) if u.status == "handled"]
    return len(handled) >= count


def test_group_messages_commands_and_button_presses_are_ignored(
    door: DoorOpener, telegram: FakeTelegram, tmp_path: Path
) -> None:
    with door():
        _message(telegram, GROUP, "group", "路灯坏了")
        _message(telegram, SUPERGROUP, "supergroup", "/start")
        _message(telegram, GROUP, "group", "/cancel")
        _press(telegram, GROUP, "group", "/affirm")
        telegram.user_sends(32, "我在私聊")  # a person in a private chat is still answered
        wait(telegram, lambda: telegram.texts_to(32) and _all_handled(tmp_path, 5))
    assert telegram.texts_to(32) == ["回声：我在私聊"]
    assert telegram.texts_to(GROUP) == [] and telegram.texts_to(SUPERGROUP) == []
    conversations = {c.external_user for c in rows(tmp_path, Conversation)}
    assert conversations == {"32"}  # no conversation for a group (nor for its member 31)


def test_the_staff_chat_gets_no_conversation_even_for_a_button_press(
    door: DoorOpener, telegram: FakeTelegram, tmp_path: Path
) -> None:
    with door():
        _message(telegram, STAFF_CHAT, "supergroup", "值班的同事注意")
        _message(telegram, STAFF_CHAT, "supergroup", "/help")
        _press(telegram, STAFF_CHAT, "supergroup", "/affirm")
        telegram.user_sends(33, "你好")
        wait(telegram, lambda: telegram.texts_to(33) and _all_handled(tmp_path, 4))
    assert telegram.texts_to(STAFF_CHAT) == []
    assert {c.external_user for c in rows(tmp_path, Conversation)} == {"33"}


def test_a_private_button_press_still_works(door: DoorOpener, telegram: FakeTelegram) -> None:
    with door():
        telegram.user_sends(34, "你好")
        wait(telegram, lambda: telegram.texts_to(34))
        telegram.user_presses(34, "/affirm")  # offered by the fake Rasa's reply
        wait(telegram, lambda: len(telegram.texts_to(34)) == 2)
    assert telegram.texts_to(34)[-1] == "回声：/affirm"
