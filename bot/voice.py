"""How a desk addresses the person and names its staff, outside Rasa's response variants.

The 12355 youth desk says 你 to young people and calls its staff 老师; the citizen desks say the
polite 您 and 工作人员. One mapping, so the gateway, ticket status, triage's questions and the web
chat page cannot drift apart.
"""

from __future__ import annotations

YOUTH_DESK = "12355"


def you(desk: str) -> str:
    """你 on the youth desk, 您 elsewhere."""
    return "你" if desk == YOUTH_DESK else "您"


def staff(desk: str) -> str:
    """老师 on the youth desk, 工作人员 elsewhere."""
    return "老师" if desk == YOUTH_DESK else "工作人员"
