"""While a crisis waits for staff who are off duty: keep the person company, and stand down when the
crisis was a misreading the person corrects.

The crisis answer says "我一直在这里". Out of hours nobody joins before morning, and every later message
used to get one line about staff being offline, the same each time, whatever the person said: "开玩笑的啦
我妈不会真打" (a joke the learned score took for a crisis), "你会一直在吗" from a child who had just named a
time. Now:

- a retraction ("开玩笑的", "說笑的啦，我不會怎樣", "I was kidding", "我没有想不开") of a crisis that rested
  only on the learned score (no crisis word or pattern in the screen's signals) hands the conversation
  back to the bot, with thanks and the 24-hour line; the urgent ticket stays for staff to review;
- a retraction of a crisis said in crisis words is thanked, but the conversation stays with staff;
- anything else gets a line that answers "are you there?" truthfully: the bot is here and replies, a
  person reads it when they are back, 12356 now.
Staff on duty (no `back_at`) own the conversation: the gateway's usual handoff line is kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.gateway import check_in
from bot.language import is_english
from bot.text import normalise
from bot.voice import is_youth, you

_RETRACTION = re.compile(
    r"开玩笑|开个玩笑|说笑|说着玩|闹着玩|逗你|不是认真的|没当真|不会真的?(打|怎样|去|做)|夸张|我没事|我不会怎样|我不会做傻事"
    r"|放心吧|放心啦|哈哈.{0,4}(说笑|玩笑|开玩笑)|我冇事"
    r"|kidding|joking|\bjk\b|just a joke|(i'?m|i am) (fine|ok|okay|alright|safe)|not serious|didn'?t mean it|exaggerat",
    re.IGNORECASE,
)


def retracts(text: str) -> bool:
    """The person takes back what was read as a crisis ("开玩笑的啦", "我没事", "I was kidding"), or says
    it is not about ending their life (`check_in.reassures`: "我没有想不开", "我唔係想點")."""
    return bool(_RETRACTION.search(normalise(text))) or check_in.reassures(text)


def learned_only(signals: Sequence[str]) -> bool:
    """The crisis rested on the learned score alone: no crisis word or pattern among the screen's signals."""
    return bool(signals) and not check_in.said_in_words(signals)


def stood_down(desk: str, language: str, back_at: str) -> str:
    """A misread crisis taken back: thanks, the truth about the message, the line for later."""
    if is_english(language):
        who = "a counsellor" if is_youth(desk) else "a member of staff"
        return (
            f"Thank you for telling me, I'm glad. What you wrote stays with us and {who} will glance at it "
            f"when they are back at {back_at}. Let's carry on with what you wanted to talk about; if dark "
            "thoughts ever come, tell me, or call 12356, the 24-hour psychological assistance hotline."
        )
    who = "老师" if is_youth(desk) else "工作人员"
    if is_youth(desk):
        return (
            f"好的，谢谢你告诉我，我放心多了。刚才的话还是会留给{who}，{who}{back_at}上班后会看一眼。"
            "你想说的事，我们接着聊吧；以后如果有不好的念头，随时告诉我，或者拨打12356心理援助热线（24小时）。"
        )
    return (
        f"好的，谢谢您告诉我们。刚才的话会留给{who}，{back_at}上班后会看一下。您要办的事，我们接着说；"
        "如有需要，也可以拨打12356心理援助热线（24小时）。"
    )


def company(desk: str, language: str, back_at: str, retracted: bool = False) -> str:
    """The answer to anything else while the crisis waits: here, replying, who reads it and when, 12356 now."""
    if is_english(language):
        who = "a counsellor" if is_youth(desk) else "a member of staff"
        lead = "Thank you for telling me. Even so, " if retracted else "I'm here and I'll keep answering you. "
        return (
            f"{lead}{who} will read everything you write here when they are back at {back_at}. If you want to "
            "talk to a person right now, call 12356 (24 hours); if you are in danger, call 110 or 120 now."
        )
    who = "老师" if is_youth(desk) else "工作人员"
    if retracted:
        lead = f"谢谢{you(desk)}告诉我。就算是玩笑，{who}{back_at}上班后也会看一眼，确认{you(desk)}没事。"
    else:
        lead = f"我在，会一直回复{you(desk)}。{who}{back_at}上班后会第一时间看到{you(desk)}在这里说的话。"
    return f"{lead}现在想找人说话，请拨打12356心理援助热线（24小时）；如果有危险，请马上拨打110或120。"


_CANNOT_CALL = re.compile(
    r"(不敢|不能|没法|沒法|没办法|沒辦法|不方便|唔敢|唔可以|唔方便)(打|讲|講|说|說)(电话|電話|话|話)?"
    r"|(会|會)(听到|聽到|听见|聽見)|没有?(电话|手机)|冇(电话|手机|電話|手機)|手机没电|手機冇電"
    r"|can'?t (call|talk|speak|make a call)|cannot (call|talk|speak)|(he|she|they)'?(ll| will) hear|no phone",
    re.IGNORECASE,
)


def cannot_call(text: str) -> bool:
    """ "不敢打电话 他会听到", "I can't call, he'll hear": a person in danger who cannot speak on the phone."""
    return bool(_CANNOT_CALL.search(normalise(text)))


def silent_help(desk: str, language: str) -> str:
    """How to reach the police without a call: the 12110 text-message alarm (most of China; some areas
    add the last three digits of the area code), what to write, and staying safe."""
    if is_english(language):
        return (
            "If you can't make a call, you can text the police at 12110: write your address and what is "
            "happening (it works in most areas; some need the last three digits of the local area code added "
            "after 12110). Stay somewhere safe and quiet. I'm here and I'll keep answering you."
        )
    return (
        "如果不方便打电话，可以发短信到12110报警，写清楚地址和正在发生什么（多数地区可用，部分地区要在12110后"
        f"加区号后三位）。先保护好{you(desk)}自己，待在安全的地方。我在这里，会一直回复{you(desk)}。"
    )
