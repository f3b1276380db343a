"""The words of the triage contract (`shared/docs/triage-spec.md`): routes, channel codes, priority.

These strings are shared by the bot, the staff console, the analytics and the benchmarks, so they live
in one place and nothing else spells them out.
"""

from __future__ import annotations

from enum import Enum


class Route(str, Enum):
    """What the bot does next with a message (the spec's route table)."""

    CRISIS = "crisis"
    EMERGENCY = "emergency"
    REFER = "refer"
    DECLINE = "decline"
    FAQ = "faq"
    TICKET = "ticket"
    SMALLTALK = "smalltalk"
    CLARIFY = "clarify"

    def __str__(self) -> str:  # so f-strings and json.dumps(default=str) give the contract word
        return self.value


ROUTE_PRIORITY: dict[Route, int] = {
    Route.CRISIS: 0,
    Route.EMERGENCY: 1,
    Route.TICKET: 2,
    Route.REFER: 2,
    Route.DECLINE: 2,
    Route.FAQ: 2,
    Route.SMALLTALK: 3,
    Route.CLARIFY: 3,
}
"""Lower wins when several routes fit: crisis > emergency > ticket/refer/decline/faq > smalltalk/clarify."""


def higher_priority(a: Route, b: Route) -> Route:
    """The route that wins when both fit (ties keep `a`, the one found first)."""
    return a if ROUTE_PRIORITY[a] <= ROUTE_PRIORITY[b] else b


EMERGENCY_CHANNELS: tuple[str, ...] = ("110", "119", "120", "122")
"""Police, fire, ambulance, traffic police: the only channels of the `emergency` route."""

CRISIS_CHANNEL = "12356"
"""Psychological assistance hotline: the channel named with every `crisis` decision."""

CHANNEL_CODES: tuple[str, ...] = (
    "110",
    "119",
    "120",
    "122",
    "12345",
    "12355",
    "12356",
    "12315",
    "12333",
    "12348",
    "12338",
    "12388",
    "12309",
    "12368",
    "12306",
    "12366",
    "12377",
    "xinfang",
)
"""Every channel code of the spec; `channels.yml` may describe them (and a deployment may add local ones)."""

DESKS: tuple[str, ...] = ("12345", "12355")
"""The desks that ship with the project."""
