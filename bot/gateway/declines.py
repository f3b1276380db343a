"""A decline stands when the person pushes back.

After "this is outside what the hotline can do" ("给我儿子介绍个对象"), people insist or ask around it:
"你们不是为人民服务吗", "那社区的相亲会是啥时候", "那你说上哪儿找靠谱的？". Read alone, such a message is
no request the engine knows, and its best guess is some ticket category at a very low confidence (0.11 to
0.16 on the fresh conversations that showed it, against 0.55 and more for a real new matter such as
"另外我家门口的路灯坏了"). Starting a ticket form there turns a polite decline into a ticket for
staff. So, right after a decline, a ticket guess under `UNSURE` gets the decline restated kindly with
the way to raise a real matter instead; a confident new matter is taken as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TypeGuard

from bot.desks import profile
from bot.language import is_english
from bot.triage.decision import Decision
from bot.triage.vocabulary import Route
from bot.voice import is_youth

UNSURE = 0.30
"""Below this a ticket guess right after a decline is the push-back, not a new matter."""
WINDOW = 3
"""How many of the person's previous messages a decline counts for."""
SIGNAL = "decline-stands"


def unsure_ticket(decision: Decision | None) -> TypeGuard[Decision]:
    """A ticket guess under `UNSURE`: the only kind a decline can stand against (checked before the
    earlier decisions are read)."""
    return decision is not None and decision.route is Route.TICKET and decision.confidence < UNSURE


def stands(decision: Decision | None, previous: Sequence[str | None]) -> bool:
    """`previous`: the routes decided for the person's earlier messages, newest first. True when a decline
    among the last `WINDOW` makes this unsure ticket guess a push-back (and no form began since)."""
    if not unsure_ticket(decision):
        return False
    recent = list(previous[:WINDOW])
    if not recent or recent[0] == Route.TICKET.value:  # the message before started a form: this may answer it
        return False
    return Route.DECLINE.value in recent


def as_decline(decision: Decision) -> Decision:
    """The decision recorded for the push-back: still a decline (the next push-back sees it too)."""
    return replace(decision, route=Route.DECLINE, category=None, signals=(*decision.signals, SIGNAL))


def restated(desk: str, language: str) -> str:
    """The decline again, kindly, with the way to raise a matter the hotline does take."""
    title = profile(desk).title
    if is_english(language):
        if is_youth(desk):
            return (
                f"I understand you really want a way forward. This one is outside what the {desk} youth "
                "service can take on, so I can't register it, sorry. If something else is weighing on you "
                "(school, family, friends, your rights), tell me any time."
            )
        return (
            f"I understand. That request is outside what the {desk} hotline can handle, so I can't register "
            "it; thank you for understanding. If there is another specific matter for a government department "
            "(housing, social insurance, streets and facilities...), just tell me."
        )
    if is_youth(desk):
        return (
            f"我明白你很想有个办法。这件事确实不在{title}能帮忙办理的范围里，我们没法为它登记，抱歉。"
            "如果有别的事让你困扰（学习、家里、同学关系、自己的权益），随时跟我说。"
        )
    return (
        f"理解您的心情。刚才这件事确实不在{title}能办理的范围内，我们没法为它登记工单，还请您谅解。"
        "如果有另一件需要政府部门处理的具体事情（比如住房、社保、市政设施），直接告诉我就好。"
    )
