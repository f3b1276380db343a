"""Triage decisions for tests that replace the engine: real `Decision` objects, so a renamed field
breaks these tests instead of letting the live bot fall back silently."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.triage.decision import Decision
from bot.triage.vocabulary import Route

Decide = Callable[[str, str, Sequence[str], str], Decision]


def decided(route: str | Route = Route.TICKET, desk: str = "12345", **fields: Any) -> Decision:
    """A decision as the engine would make it (route as its contract word or the enum)."""
    if "signals" in fields:
        fields["signals"] = tuple(fields["signals"])
    return Decision(Route(route), desk, **fields)


def no_risk(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
    """An ordinary request: no safety route, no signals."""
    return decided(Route.TICKET, desk)


def crisis_when(word: str) -> Decide:
    """A crisis whenever `word` is in the message, else an ordinary request."""

    def decide(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        if word in text:
            return decided(Route.CRISIS, desk, channel="12356", signals=("lexicon:" + word,), priority="urgent")
        return no_risk(text, desk, history)

    return decide


def close_to_crisis(word: str, score: float = 0.31) -> Decide:
    """`word` puts the message just under the crisis bar (the engine's check-in signal)."""

    def decide(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        if word in text:
            return decided(Route.TICKET, desk, signals=("top:counselling:0.40", f"check-in:{score:.2f}"))
        return no_risk(text, desk, history)

    return decide
