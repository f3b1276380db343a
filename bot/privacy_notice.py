"""The privacy notice at first contact (PIPL Art. 17): what is kept, for how long, who sees it, how
to have it deleted. Texts and the retention figure live in `bot/data/privacy_notice.yml`, so the
figure the person reads is the retention setting the purge applies (`FRONTDOOR_RETAIN_CHAT_DAYS`).

The gateway adds the notice to the first answer of every conversation on every channel (and again on
Telegram's /start); the web chat page shows the Chinese one above the chat. A crisis or emergency
answer never carries it: help comes first, alone.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.desks import profile
from bot.language import DEFAULT, is_english
from bot.voice import is_youth

SOURCE = "notice"
"""gw_outbound source of the notice: whether a conversation has had it is read from there."""
MARK = "🔒"
"""Every notice starts with it (bot/data/privacy_notice.yml): the person sees at a glance what it is."""
DATA = Path(__file__).resolve().parent / "data" / "privacy_notice.yml"


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    with DATA.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or not isinstance(data.get("notice"), dict):
        raise ValueError(f"{DATA}: expected 'notice'")
    return data


def retention_days() -> int:
    """Days the chat of a conversation without a ticket is kept: the retention setting the purge
    applies (FRONTDOOR_RETAIN_CHAT_DAYS, bot/retention/policy.py), so the notice never says otherwise."""
    from bot.settings import get_settings

    return get_settings().retain_chat_days


def notice(desk: str, language: str = DEFAULT, days: int | None = None) -> str:
    """The notice in the desk's voice (你 on a youth desk) and the conversation's language (Traditional
    readers get the Chinese, converted on its way out)."""
    texts = _data()["notice"]["youth" if is_youth(desk) else "public"]
    text = str(texts["en" if is_english(language) else "zh"])
    return text.format(days=retention_days() if days is None else days, phone=profile(desk).phone)
