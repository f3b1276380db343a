"""action_handoff: a person takes over."""

from __future__ import annotations

from action_test_support import responses, slot_values

from actions.handoff import ActionHandoff


async def test_handoff_sets_the_slot_the_gateway_watches(make_tracker, dispatcher, domain):
    events = await ActionHandoff().run(dispatcher, make_tracker("转人工", intent="ask_human"), domain)

    assert responses(dispatcher) == ["utter_handoff"]
    assert slot_values(events) == {"handoff": True}


async def test_handoff_stops_an_active_form_and_does_not_repeat_the_slot(make_tracker, dispatcher, domain):
    tracker = make_tracker("人工", intent="ask_human", slots={"handoff": True}, active_loop="ticket_form")

    events = await ActionHandoff().run(dispatcher, tracker, domain)

    assert [e["event"] for e in events] == ["active_loop"]
