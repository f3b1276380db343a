"""A referral stands when the person asks around it.

After "this is for the court's 12368 line" people ask on: "那我该找哪里？", "咁樣合法咩", "这个电话什么时间
打得通？". Read alone, such a follow-up is no request the engine knows: its best guess is `clarify` ("what
would you like to ask?", as if nothing had been said) or a ticket category at a very low confidence (the
fresh conversations showed 0.11 to 0.2, and one became a telecom ticket). Right after a referral, such a
message gets the referral restated kindly, with the channel named again; a confident new matter is
taken as usual, and so is anything inside a form.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.desks import profile
from bot.intake.cancel import is_question
from bot.language import is_english
from bot.triage.decision import Decision
from bot.triage.vocabulary import Route
from bot.voice import is_youth

UNSURE = 0.30
"""Below this a ticket guess right after a referral is a follow-up, not a new matter."""
SIGNAL = "referral-stands"
FEEDBACK_PAYLOAD = "/describe_problem"
"""The button under a referral ("还是想在这里反映"): its presence tells the referral was the answer, not a
question answered inside a form."""
CHANNELS_FILE = Path(__file__).resolve().parents[1] / "data" / "channels.yml"


@cache
def _channels() -> dict[str, dict[str, Any]]:
    with CHANNELS_FILE.open(encoding="utf-8") as handle:
        return dict((yaml.safe_load(handle) or {}).get("channels") or {})


def channel_label(code: str, language: str) -> str:
    """ "12368诉讼服务热线", "Court litigation services (12368)", "信访部门"; the bare code for a channel a
    deployment added without describing it."""
    info = _channels().get(code) or {}
    name = str(info.get("name_en" if is_english(language) else "name") or "")
    if not name:
        return code
    if code in name or not code.isdigit():
        return name
    return f"{name} ({code})" if is_english(language) else f"{name}（{code}）"


def may_follow(decision: Decision | None, text: str) -> bool:
    """Could this message be a follow-up to a referral (checked before the earlier decisions are read)? Only
    a question: a statement ("不对 是900多 我算错了") tells more of the matter and is read as usual."""
    if decision is None or decision.is_safety:
        return False
    unsure = decision.route is Route.CLARIFY or (decision.route is Route.TICKET and decision.confidence < UNSURE)
    return unsure and is_question(text)


def referred_channel(record: dict[str, Any] | None) -> str | None:
    """The channel a message was referred to, from its decision record (`gw_inbound.safety`)."""
    if not record or record.get("decided") != Route.REFER.value:
        return None
    channel = record.get("referred")
    return str(channel) if channel else None


def restated(desk: str, code: str, language: str) -> str:
    """The referral again, kindly, without repeating every detail."""
    title = profile(desk).title
    channel = channel_label(code, language)
    if is_english(language):
        if is_youth(desk):
            return (
                f"This one really is for {channel}: they are the ones who can answer it and act on it; the "
                f"{desk} youth service can't decide it for them, sorry. How to reach them is in my last message. "
                "If something else is on your mind, tell me any time."
            )
        return (
            f"This matter is handled by {channel}; they can answer it and act on it, and the {desk} hotline "
            "cannot decide it in their place. How to reach them is in my previous reply. If there is another "
            "matter for a government department, just tell me."
        )
    if is_youth(desk):
        return (
            f"这件事还是要找{channel}，他们能解答、也能办理，{title}没法替他们决定，抱歉。"
            "怎么联系他们，上一条消息里有。还有别的事让你困扰，随时跟我说。"
        )
    return (
        f"这件事需要由{channel}解答和办理，{title}没法替他们决定，还请您谅解。"
        "具体怎么联系，上一条回复里有。如果还有别的需要政府部门处理的事情，直接告诉我就好。"
    )
