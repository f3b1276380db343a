"""Every sentence the product says about a crisis outside Rasa's responses, in one place.

The gateway says them when Rasa cannot (fallbacks) or beside Rasa's answer (the check-in question);
the actions quote the check-in question in a crisis ticket. Wording here must always carry the
numbers to call (110/120, 12356, and 12355 on the youth desk), in English too.
"""

from __future__ import annotations

from bot.desks import profile
from bot.language import DEFAULT, is_english
from bot.voice import is_youth, title_en, you

CHECK_IN_QUESTION = "最近有没有过伤害自己、或者不想活下去的念头？"
"""The check-in question itself: direct, as crisis-line guidance recommends (asking does not plant the idea)."""


def crisis_fallback(desk: str, language: str = DEFAULT, back_at: str | None = None) -> str:
    """Said when a crisis is detected; must work even when every backend is down. `back_at` when no
    staff are on duty ("明天09:00"): then it says so instead of promising a person."""
    if is_english(language):
        youth_en = f", or {title_en(desk)}" if is_youth(desk) else ""
        coming = (
            "I have asked the staff on duty to come and be with you. Please stay here; we are here with you."
            if back_at is None
            else f"Our staff are offline right now (back at {back_at}); your message is waiting for them. "
            "Please call 12356 now; we are here with you."
        )
        return (
            "I care about your safety right now, and you are not alone. If you are in danger or have already hurt "
            "yourself, please call 110 (police) or 120 (ambulance) now. If you want to talk to someone, you can "
            f"call 12356, the psychological assistance hotline (24 hours), at any time{youth_en}. {coming}"
        )
    youth = f"、{profile(desk).title}" if is_youth(desk) else ""
    ni = you(desk)  # 你 to young people, 您 to citizens
    coming = (
        f"我已经请值班的工作人员来陪{ni}，请留在这里，我们会一直在。"
        if back_at is None
        else f"现在工作人员不在线（{back_at}上班），{ni}的情况已经留给他们；请先拨打12356，我们会一直在这里。"
    )
    return (
        f"我很在意{ni}现在的安全，{ni}不是一个人。如果{ni}有危险或已经伤害了自己，请马上拨打110或120。"
        f"想找人说说话，可以随时拨打12356心理援助热线（24小时）{youth}。{coming}"
    )


EMERGENCY_NAMES_EN = {"110": "the police", "119": "fire and rescue", "120": "an ambulance", "122": "the traffic police"}


def emergency_fallback(channel: str, language: str = DEFAULT) -> str:
    if is_english(language):
        who = EMERGENCY_NAMES_EN.get(channel)
        call = f"Call {channel} ({who}) now!" if who else f"Call {channel} now!"
        return f"{call} In an emergency, phone first. We will be here, and you can write to us again afterwards."
    names = {"110": "报警电话110", "119": "火警电话119", "120": "急救电话120", "122": "交通事故报警电话122"}
    return f"请立即拨打{names.get(channel, channel)}！紧急情况请先打电话，我们一直在这里，处理完可以再来留言。"


def handoff_crisis_reminder(desk: str, language: str = DEFAULT, back_at: str | None = None) -> str:
    """While a crisis waits for staff; out of hours (`back_at`) it says they are offline, not coming."""
    if is_english(language):
        youth_en = f" or {profile(desk).phone}" if is_youth(desk) else ""
        lead = (
            "A member of staff is on the way. While you wait,"
            if back_at is None
            else f"Our staff are offline right now (back at {back_at}). Meanwhile,"
        )
        return (
            f"{lead} if you feel in danger, call 110 (police) or 120 (ambulance) now; you can also call 12356, "
            f"the psychological assistance hotline (24 hours){youth_en}."
        )
    youth = f"或{profile(desk).phone}" if is_youth(desk) else ""
    lead = "工作人员正在赶来。等待时" if back_at is None else f"工作人员现在不在线（{back_at}上班）。这段时间"
    return f"{lead}如果感到危险，请马上拨打110或120，也可以拨打12356（24小时）{youth}。"


def check_in_no(desk: str, resuming: bool, language: str | None = None) -> str:
    """The answer to a no after the check-in question; `resuming`: the bot's own question follows again."""
    if is_english(language):
        rest = " Let's go back to my question:" if resuming else " Anything else on your mind, just tell me."
        return (
            "Okay, thank you for answering. If thoughts like that ever come, tell me any time, "
            "or call the 12356 psychological assistance hotline." + rest
        )
    if is_youth(desk):
        rest = "我们接着刚才的问题：" if resuming else "还有什么想说的，随时告诉我。"
        return f"好的，谢谢你回答我。以后如果有这样的念头，随时告诉我，或拨打12356心理援助热线。{rest}"
    rest = "我们接着刚才的问题：" if resuming else "还有什么需要，随时告诉我。"
    return f"好的，谢谢您的回答。以后如果有这样的念头，随时可以告诉我们，或拨打12356心理援助热线。{rest}"


def check_in(desk: str, language: str | None = None, back_at: str | None = None) -> str:
    """Added (at most once an hour) after an ordinary answer when the message was close to a crisis.

    A direct question, so that the next message can be heard as its answer (`bot.gateway.check_in`).
    `back_at` ("09:00") when nobody is on duty now: then it promises no person, only the truth (who
    is offline, until when) and the 24-hour line, like the crisis answer out of hours.
    """
    youth = is_youth(desk)
    if is_english(language):
        line = " or 12355" if youth else ""
        ask = (
            "Can I ask you one more thing: lately, have you had any thoughts of hurting yourself or of not "
            "wanting to be alive?"
            if youth
            else "May I also ask you something: have you recently had thoughts of harming yourself or of not "
            "wanting to live?"
        )
        if back_at is None:
            who = "a counsellor on duty to be with you" if youth else "a member of staff to contact you"
            return (
                f'{ask} If so, just reply "yes" and I will ask {who} straight away. '
                f"You can also call the 12356 psychological assistance hotline{line} at any time."
            )
        who = "Our counsellors are" if youth else "Our staff are"
        return (
            f'{ask} If so, just reply "yes". {who} offline right now (back at {back_at}); I will stay here '
            "and pass your message on to them. To talk to someone right now, call the 12356 psychological "
            "assistance hotline (24 hours)."
        )
    you, line = ("你", f"或{profile(desk).title}") if youth else ("您", "")
    lead = f"另外想问{you}一句：{CHECK_IN_QUESTION}"
    if back_at is None:
        who = "值班老师来陪你" if youth else "工作人员和您联系"
        return f"{lead}如果有，直接回我一个“有”字就好，我会马上请{who}；也可以随时拨打12356心理援助热线{line}。"
    who = "老师" if youth else "工作人员"
    return (
        f"{lead}如果有，直接回我一个“有”字就好。现在{who}不在线（{back_at}上班），我会一直在这里，"
        f"也会把{you}的情况转给{who}；想马上找人说话，请拨打12356心理援助热线（24小时）。"
    )
