"""What the gateway says itself, when Rasa cannot: short, warm, and always with a next step.

What it says about a crisis lives in `bot.crisis_words` (re-exported here). Every message has an
English version, written as English (bot/language.py picks it for the conversation); a Traditional
conversation gets the Chinese converted on its way out (`bot.gateway.outbound.for_person`).
"""

from __future__ import annotations

from bot.crisis_words import check_in, check_in_no, crisis_fallback, emergency_fallback, handoff_crisis_reminder
from bot.desks import profile
from bot.language import DEFAULT, is_english
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


def backend_down(desk: str, language: str = DEFAULT) -> str:
    if is_english(language):
        if is_youth(desk):
            return (
                "Sorry, things are a bit busy on my side right now. Your message is saved, nothing is lost. "
                f"Try sending it again in a little while, or call {profile(desk).phone}. "
                "In an emergency, call 110 (police) or 120 (ambulance)."
            )
        return (
            "Sorry, the system is busy at the moment. Your message has been saved and is not lost. "
            f"Please send it again later, or call the {profile(desk).phone} hotline. "
            "In an emergency, call 110 (police) or 120 (ambulance)."
        )
    return (
        f"抱歉，系统暂时有点忙，{you(desk)}的消息已经保存，没有丢失。"
        f"请稍后再发一次，或直接拨打{profile(desk).phone}热线。紧急情况请拨打110/120。"
    )


def empty_message(desk: str, language: str = DEFAULT) -> str:
    if is_english(language):
        if is_youth(desk):
            return "Looks like that message was empty. Just type what you'd like to talk about or ask."
        return "Your message seems to be empty. Please tell us in words what you would like to ask or report."
    if is_youth(desk):
        return "你好像发了一条空消息。可以用文字告诉我你想聊或想问的事情。"
    return "您好像发了一条空消息。请用文字告诉我您想咨询或反映的事情。"


def too_long(desk: str, limit: int, language: str = DEFAULT) -> str:
    if is_english(language):
        return (
            f"That is a long message: I have read the first {limit} characters. "
            "If something was left out, please send it in a few shorter messages."
        )
    return f"{you(desk)}的消息很长，我先读了前{limit}个字。如有遗漏，可以分几条再补充。"


def handed_to_staff(desk: str, language: str = DEFAULT, back_at: str | None = None) -> str:
    """While a human owns the conversation; out of hours (`back_at`) the message waits for them."""
    if is_english(language):
        who = "a counsellor" if is_youth(desk) else "a member of staff"
        if back_at is not None:
            return (
                f"Your message is with us for {who}; staff are offline right now and will see it when they are "
                f"back at {back_at}. In an emergency, call 110 (police) or 120 (ambulance)."
            )
        if is_youth(desk):
            return (
                "Your message has gone to a counsellor. Hang on, someone will reply as soon as they can. "
                "In an emergency, call 110 (police) or 120 (ambulance)."
            )
        return (
            "Your message has been passed to a member of staff. Please wait; someone will reply as soon as "
            "possible. In an emergency, call 110 (police) or 120 (ambulance)."
        )
    if back_at is not None:
        who = "老师" if is_youth(desk) else "工作人员"
        return f"{you(desk)}的消息已经留给{who}。{who}现在不在线，{back_at}上班后会看到并回复。紧急情况请拨打110/120。"
    if is_youth(desk):
        return "你的消息已经转给老师了，请稍等，会有人尽快回复你。紧急情况请拨打110/120。"
    return "您的消息已转给工作人员，请稍候，有人会尽快回复您。紧急情况请拨打110/120。"


def rate_limited(desk: str, language: str = DEFAULT) -> str:
    """Too many messages (or too many new conversations from one place): wait and resend. Always with
    the numbers to call, in the desk's voice: a person in crisis who types fast is never left with nothing."""
    if is_english(language):
        wait = "You are sending messages a little fast and I need a moment to catch up. Please wait a few seconds and send it again."
        if is_youth(desk):
            return (
                f"{wait} If you are in danger, call 110 (police) or 120 (ambulance) now. To talk to someone, call "
                "12356, the psychological assistance hotline (24 hours)."
            )
        return f"{wait} In an emergency, call 110 (police), 120 (ambulance) or 119 (fire)."
    if is_youth(desk):
        return (
            "你发消息有点快，我需要一点时间处理，请等几秒再发。如果你有危险，请马上拨打110或120；"
            "想找人说说话，可以随时拨打12356心理援助热线（24小时）。"
        )
    return "您发消息有点快，我需要一点时间处理，请稍等几秒再发。紧急情况请拨打110（报警）、120（急救）或119（火警）。"
