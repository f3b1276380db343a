"""bot/triage/decision.py: the decision survives the trip through Rasa's metadata, and anything
else is refused loudly (a renamed field must fail here, not make the live bot fall back)."""

from __future__ import annotations

import json

import pytest

from bot.triage.decision import Decision
from bot.triage.vocabulary import Route


def test_a_decision_round_trips_through_json() -> None:
    decision = Decision(
        Route.TICKET,
        "12355",
        category="counselling",
        category_name="心理咨询",
        entry_id="counselling",
        confidence=0.73456,
        signals=("top:ticket:counselling:0.73", "check-in:0.31"),
        priority="high",
    )
    back = Decision.from_dict(json.loads(json.dumps(decision.to_dict(), ensure_ascii=False)))
    assert back == Decision(**{**decision.__dict__, "confidence": 0.7346})
    assert back.route is Route.TICKET and back.check_in_signal == "check-in:0.31"
    assert not back.is_safety and Decision(Route.CRISIS, "12345").is_safety


def test_the_other_reading_of_a_learned_crisis_travels_with_it() -> None:
    other = Decision(Route.TICKET, "12355", category="counselling", signals=("top:ticket:counselling:0.82",))
    crisis = Decision(Route.CRISIS, "12355", channel="12356", signals=("embedding:0.56",), otherwise=other.to_dict())
    back = Decision.from_dict(json.loads(json.dumps(crisis.to_dict(), ensure_ascii=False)))
    assert back.without_screen() == other
    assert Decision(Route.CRISIS, "12355").without_screen() is None


@pytest.mark.parametrize(
    "payload",
    [
        {"route": "ticket"},  # no desk
        {"desk": "12345"},  # no route
        {"route": "wish", "desk": "12345"},  # not a route of the spec
        {"route": "ticket", "desk": "12345", "categroy": "noise"},  # a misspelt (renamed) field
        {"route": "faq", "desk": "12345", "reply": ["not", "text"]},
        ["ticket", "12345"],
        {"route": "crisis", "desk": "12345", "otherwise": {"route": "ticket"}},  # the other reading checked too
    ],
)
def test_anything_but_a_decision_is_refused(payload: object) -> None:
    with pytest.raises(ValueError):
        Decision.from_dict(payload)  # type: ignore[arg-type]


def test_the_decision_module_stays_light() -> None:
    """The action server imports it: no numpy, no model."""
    import subprocess
    import sys

    code = "import sys, bot.triage.decision; print('numpy' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "False"]
