"""What the gateway says itself speaks in each desk's voice: 你 to young people, 您 to citizens."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.gateway import messages

SAID_TO_A_PERSON: list[Callable[[str], str]] = [
    messages.backend_down,
    messages.empty_message,
    lambda desk: messages.too_long(desk, 2000),
    messages.handed_to_staff,
    messages.rate_limited,
    messages.crisis_fallback,
    messages.handoff_crisis_reminder,
    messages.check_in,
    lambda desk: messages.check_in_no(desk, resuming=True),
    lambda desk: messages.check_in_no(desk, resuming=False),
]


@pytest.mark.parametrize("say", SAID_TO_A_PERSON)
def test_the_youth_desk_is_never_addressed_as_nin(say: Callable[[str], str]) -> None:
    youth, citizen = say("12355"), say("12345")
    assert youth and "您" not in youth
    assert citizen


@pytest.mark.parametrize("say", SAID_TO_A_PERSON)
def test_citizens_are_never_addressed_as_ni(say: Callable[[str], str]) -> None:
    citizen = say("12345").replace("你们", "")
    assert "你" not in citizen


def test_the_polite_form_stays_on_12345() -> None:
    assert "您" in messages.handed_to_staff("12345") and "你" in messages.handed_to_staff("12355")
    assert "老师" in messages.handed_to_staff("12355")


@pytest.mark.parametrize("desk", ["12345", "12355"])
@pytest.mark.parametrize("language", ["zh-Hans", "en"])
def test_out_of_hours_no_gateway_message_promises_a_person(desk: str, language: str) -> None:
    """With staff offline until 09:00 the crisis fallback, the crisis reminder and the waiting message say
    so and name when they are back; in hours they say a person is coming."""
    back = "09:00 tomorrow" if language == "en" else "明天09:00"
    for say in (messages.crisis_fallback, messages.handoff_crisis_reminder, messages.handed_to_staff):
        text = say(desk, language, back)
        assert back in text and ("不在线" in text or "offline" in text), say.__name__
        assert "正在赶来" not in text and "on the way" not in text and "请值班" not in text
    assert "12356" in messages.crisis_fallback(desk, language, back)
