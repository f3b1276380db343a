"""How a desk addresses the person and names its staff, outside Rasa's response variants.

A youth desk (12355: `audience: youth` in bot/data/desks.yml) says 你 to young people and calls its
staff 老师; the citizen desks say the polite 您 and 工作人员. One mapping, so the gateway, ticket
status, triage's questions and the web chat page cannot drift apart.
"""

from __future__ import annotations

from bot.desks import profile


def is_youth(desk: str) -> bool:
    """A desk for young people (its profile's audience)."""
    return profile(desk).youth


def you(desk: str) -> str:
    """你 on a youth desk, 您 elsewhere."""
    return "你" if is_youth(desk) else "您"


def staff(desk: str) -> str:
    """老师 on a youth desk, 工作人员 elsewhere."""
    return "老师" if is_youth(desk) else "工作人员"


def title_en(desk: str) -> str:
    """The desk's name in an English sentence: "the 12355 youth service hotline", "the 12345 hotline"."""
    phone = profile(desk).phone
    return f"the {phone} youth service hotline" if is_youth(desk) else f"the {phone} hotline"
