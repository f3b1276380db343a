"""What the gateway says itself, when Rasa cannot: short, warm, and always with a next step."""

from __future__ import annotations

from bot.gateway.check_in import QUESTION as CHECK_IN_QUESTION
from bot.voice import you

HOTLINE_PHONE = {"12345": "12345", "12355": "12355"}


def crisis_fallback(desk: str) -> str:
    """Said when a crisis is detected; must work even when every backend is down."""
    youth = "、12355青少年服务台" if desk == "12355" else ""
    return (
        "我很在意你现在的安全，你不是一个人。如果你有危险或已经伤害了自己，请马上拨打110或120。"
        f"想找人说说话，可以随时拨打12356心理援助热线{youth}。"
        "我已经请值班的工作人员来陪你，请留在这里，我们会一直在。"
    )


def emergency_fallback(channel: str) -> str:
    names = {"110": "报警电话110", "119": "火警电话119", "120": "急救电话120", "122": "交通事故报警电话122"}
    return f"请立即拨打{names.get(channel, channel)}！紧急情况请先打电话，我们在这里等你，处理完可以再来留言。"


def backend_down(desk: str) -> str:
    return (
        f"抱歉，系统暂时有点忙，{you(desk)}的消息已经保存，没有丢失。"
        f"请稍后再发一次，或直接拨打{HOTLINE_PHONE.get(desk, desk)}热线。紧急情况请拨打110/120。"
    )


def empty_message(desk: str) -> str:
    if desk == "12355":
        return "你好像发了一条空消息。可以用文字告诉我你想聊或想问的事情。"
    return "您好像发了一条空消息。请用文字告诉我您想咨询或反映的事情。"


def too_long(desk: str, limit: int) -> str:
    return f"{you(desk)}的消息很长，我先读了前{limit}个字。如有遗漏，可以分几条再补充。"


def handed_to_staff(desk: str) -> str:
    if desk == "12355":
        return "你的消息已经转给老师了，请稍等，会有人尽快回复你。紧急情况请拨打110/120。"
    return "您的消息已转给工作人员，请稍候，有人会尽快回复您。紧急情况请拨打110/120。"


def handoff_crisis_reminder(desk: str) -> str:
    youth = "或12355" if desk == "12355" else ""
    return "工作人员正在赶来。等待时如果感到危险，请马上拨打110或120，也可以拨打12356" + youth + "。"


def check_in_no(resuming: bool) -> str:
    """The answer to a no after the check-in question; `resuming`: the bot's own question follows again."""
    rest = "我们接着刚才的问题：" if resuming else "还有什么想说的，随时告诉我。"
    return f"好的，谢谢你回答我。以后如果有这样的念头，随时告诉我，或拨打12356心理援助热线。{rest}"


def rate_limited(desk: str) -> str:
    return f"{you(desk)}发消息有点快，我需要一点时间处理。请稍等几秒再发。紧急情况请拨打110/120。"


def check_in(desk: str) -> str:
    """Added (at most once an hour) after an ordinary answer when the message was close to a crisis.

    A direct question, so that the next message can be heard as its answer (`bot.gateway.check_in`).
    """
    youth = "或12355青少年服务台" if desk == "12355" else ""
    return (
        f"另外想问你一句：{CHECK_IN_QUESTION}"
        "如果有，直接回我一个“有”字就好，我会马上请工作人员来陪你；"
        f"也可以随时拨打12356心理援助热线{youth}。"
    )
