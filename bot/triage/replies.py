"""The texts triage itself writes: crisis, emergency and clarify replies.

Refer, decline and FAQ replies come from the catalogue (staff own them); smalltalk is answered by
Rasa. These few are in code because their shape is part of the contract (spec: crisis names 12356,
110/120 and, for youth, 12355 at once; emergency says "call now" in one short sentence first).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.desks import profile
from bot.triage.catalogue import Channel
from bot.voice import is_youth, you

_CHANNEL_SHORT = {"110": "报警", "119": "消防救援", "120": "医疗急救", "122": "交通事故报警"}


def crisis_reply(desk: str) -> str:
    """Warm, at once, with the numbers; says a person is coming and asks them to stay."""
    youth = f"也可以拨打{profile(desk).title}，" if is_youth(desk) else ""
    return (
        "谢谢你愿意告诉我，你现在的感受很重要，我会一直在这里陪着你。"
        "如果你或身边的人现在有危险，请立即拨打110或120；"
        f"想找人说说话，可以随时拨打12356心理援助热线，{youth}都有专业的人在听。"
        "我已经请值班工作人员尽快来和你联系。你现在安全吗？愿意的话，继续和我说说好吗？"
    )


def emergency_reply(channel: str, channels: Mapping[str, Channel] | None = None) -> str:
    """One short sentence: which number to call, now."""
    name = _CHANNEL_SHORT.get(channel)
    if channels and channel in channels and not name:
        name = channels[channel].name
    return f"请立即拨打{channel}（{name}）！" if name else f"请立即拨打{channel}！"


def empty_question(desk: str) -> str:
    """Asked when a message has no words to read (emoji, punctuation)."""
    if is_youth(desk):
        return "可以打几个字跟我说说你遇到了什么事吗？我在听。"
    return "请用文字简单说说您遇到了什么事情：发生了什么，在哪里？"


def vague_question(desk: str) -> str:
    """The one clarify question when nothing in the catalogue is a clear fit."""
    if is_youth(desk):
        return "你想聊的或想问的具体是什么事呢？可以说说发生了什么、从什么时候开始的。"
    return "请问您具体想咨询或反映什么事情？可以说说发生了什么、在哪里、从什么时候开始的。"


def clarify_between(first: str, second: str, desk: str) -> str:
    """One specific question when two entries are close: "is it A or B?"."""
    return f"想确认一下：{you(desk)}说的是“{first}”方面的事情，还是“{second}”方面的事情？可以再具体说说吗？"
