"""The texts triage itself writes: crisis, emergency and clarify replies, in Chinese and in English.

Refer, decline and FAQ replies come from the catalogue (staff own them; `reply_en` / `answer_en`
for English); smalltalk is answered by Rasa. These few are in code because their shape is part of
the contract (spec: crisis names 12356, 110/120 and, for youth, 12355 at once; emergency says "call
now" in one short sentence first). The English versions keep every number and say the same thing
about who is coming.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.desks import profile
from bot.language import DEFAULT, is_english
from bot.triage.catalogue import Channel
from bot.voice import is_youth, title_en, you

_CHANNEL_SHORT = {"110": "报警", "119": "消防救援", "120": "医疗急救", "122": "交通事故报警"}
_CHANNEL_SHORT_EN = {"110": "police", "119": "fire and rescue", "120": "ambulance", "122": "traffic police"}


def crisis_reply(desk: str, language: str = DEFAULT) -> str:
    """Warm, at once, with the numbers; says a person is coming and asks them to stay."""
    if is_english(language):
        youth_en = f" You can also call {title_en(desk)}." if is_youth(desk) else ""
        return (
            "Thank you for telling me. How you feel right now matters, and I am staying right here with you. "
            "If you or someone near you is in danger now, please call 110 (police) or 120 (ambulance) straight away. "
            "If you want to talk to someone, you can call 12356, the psychological assistance hotline, at any time;"
            f" trained people are there to listen.{youth_en} I have asked the staff on duty to get in touch with you "
            "as soon as possible. Are you safe right now? If you like, keep talking to me."
        )
    youth = f"也可以拨打{profile(desk).title}，" if is_youth(desk) else ""
    return (
        "谢谢你愿意告诉我，你现在的感受很重要，我会一直在这里陪着你。"
        "如果你或身边的人现在有危险，请立即拨打110或120；"
        f"想找人说说话，可以随时拨打12356心理援助热线，{youth}都有专业的人在听。"
        "我已经请值班工作人员尽快来和你联系。你现在安全吗？愿意的话，继续和我说说好吗？"
    )


def emergency_reply(channel: str, channels: Mapping[str, Channel] | None = None, language: str = DEFAULT) -> str:
    """One short sentence: which number to call, now."""
    if is_english(language):
        name = _CHANNEL_SHORT_EN.get(channel)
        if channels and channel in channels and not name:
            name = channels[channel].name_en or None
        return f"Call {channel} ({name}) now!" if name else f"Call {channel} now!"
    name = _CHANNEL_SHORT.get(channel)
    if channels and channel in channels and not name:
        name = channels[channel].name
    return f"请立即拨打{channel}（{name}）！" if name else f"请立即拨打{channel}！"


def empty_question(desk: str, language: str = DEFAULT) -> str:
    """Asked when a message has no words to read (emoji, punctuation)."""
    if is_english(language):
        if is_youth(desk):
            return "Could you type a few words about what's going on? I'm listening."
        return "Please tell us briefly in words what has happened, and where."
    if is_youth(desk):
        return "可以打几个字跟我说说你遇到了什么事吗？我在听。"
    return "请用文字简单说说您遇到了什么事情：发生了什么，在哪里？"


def vague_question(desk: str, language: str = DEFAULT) -> str:
    """The one clarify question when nothing in the catalogue is a clear fit."""
    if is_english(language):
        if is_youth(desk):
            return "What would you like to talk about or ask? Tell me what happened and when it started."
        return (
            "Could you tell us more about what you would like to ask or report: what happened, where, and since when?"
        )
    if is_youth(desk):
        return "你想聊的或想问的具体是什么事呢？可以说说发生了什么、从什么时候开始的。"
    return "请问您具体想咨询或反映什么事情？可以说说发生了什么、在哪里、从什么时候开始的。"


def wish_or_matter_question(desk: str, language: str = DEFAULT) -> str:
    """Torn between a decline and a ticket ("帮我问问我家楼下那个基站会不会要人命"): one kind question
    that separates them - what should a department do? A wish has no answer to it; a matter does."""
    if is_english(language):
        if is_youth(desk):
            return "I'd like to get this right: is there something a school, office or service should do for you here? Tell me what you need."
        return (
            "To pass this on correctly: what would you like a government department to do - fix, check, "
            "stop or explain something? Please tell us what, and where."
        )
    if is_youth(desk):
        return "想确认一下：你是希望学校、部门或者哪个机构帮你做点什么吗？比如处理一件事、给个说法。可以具体说说你需要什么。"
    return "为了帮您转给对的部门，想确认一下：您希望哪个部门具体做什么呢？比如维修、查处、核实或者给个答复。可以说说是什么事、在哪里。"


def clarify_between(first: str, second: str, desk: str, language: str = DEFAULT) -> str:
    """One specific question when two entries are close: "is it A or B?"."""
    if is_english(language):
        return f"Just to check: is this about {first}, or about {second}? Could you tell me a little more?"
    return f"想确认一下：{you(desk)}说的是“{first}”方面的事情，还是“{second}”方面的事情？可以再具体说说吗？"
