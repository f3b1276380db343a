"""What the gateway says itself, when Rasa cannot: short, warm, and always with a next step.

What it says about a crisis lives in `bot.crisis_words` (re-exported here).
"""

from __future__ import annotations

from bot.crisis_words import check_in, check_in_no, crisis_fallback, emergency_fallback, handoff_crisis_reminder
from bot.desks import profile
from bot.voice import is_youth, you

__all__ = [
    "backend_down",
    "check_in",
    "check_in_no",
    "crisis_fallback",
    "emergency_fallback",
    "empty_message",
    "handed_to_staff",
    "handoff_crisis_reminder",
    "rate_limited",
    "too_long",
]


def backend_down(desk: str) -> str:
    return (
        f"抱歉，系统暂时有点忙，{you(desk)}的消息已经保存，没有丢失。"
        f"请稍后再发一次，或直接拨打{profile(desk).phone}热线。紧急情况请拨打110/120。"
    )


def empty_message(desk: str) -> str:
    if is_youth(desk):
        return "你好像发了一条空消息。可以用文字告诉我你想聊或想问的事情。"
    return "您好像发了一条空消息。请用文字告诉我您想咨询或反映的事情。"


def too_long(desk: str, limit: int) -> str:
    return f"{you(desk)}的消息很长，我先读了前{limit}个字。如有遗漏，可以分几条再补充。"


def handed_to_staff(desk: str) -> str:
    if is_youth(desk):
        return "你的消息已经转给老师了，请稍等，会有人尽快回复你。紧急情况请拨打110/120。"
    return "您的消息已转给工作人员，请稍候，有人会尽快回复您。紧急情况请拨打110/120。"


def rate_limited(desk: str) -> str:
    return f"{you(desk)}发消息有点快，我需要一点时间处理。请稍等几秒再发。紧急情况请拨打110/120。"
