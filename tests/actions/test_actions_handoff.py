"""action_handoff: a person takes over; a matter being reported becomes a ticket first."""

from __future__ import annotations

from action_test_support import customs, responses, slot_values

from actions.handoff import ActionHandoff


async def test_handoff_tells_the_gateway_and_sets_the_slot(make_tracker, dispatcher, domain, store):
    events = await ActionHandoff(store=store).run(dispatcher, make_tracker("转人工", intent="ask_human"), domain)

    assert responses(dispatcher) == ["utter_handoff", None]
    assert customs(dispatcher) == [{"handoff": True, "reason": "asked"}]
    assert slot_values(events) == {"handoff": True}
    assert store.tickets_for_conversation("12345:test:1") == []  # nothing was being reported


async def test_handoff_in_the_middle_of_the_form_opens_the_ticket_of_the_matter(
    make_tracker, dispatcher, domain, store
):
    tracker = make_tracker(
        "还是找个人吧",
        intent="ask_human",
        active_loop="ticket_form",
        slots={
            "route": "ticket",
            "problem_what": "小区门口的路灯坏了",
            "problem_since": "上周",
            "category": "urban_management",
            "ticket_origin": "m-1",
            "requested_slot": "problem_where",
        },
    )

    events = await ActionHandoff(store=store).run(dispatcher, tracker, domain)

    [ticket] = store.tickets_for_conversation("12345:test:1")
    assert (ticket.route, ticket.status, ticket.category) == ("ticket", "new", "urban_management")
    assert ticket.triage_signals["handoff"] is True and ticket.triage_signals["incomplete"] is True
    assert responses(dispatcher) == ["utter_handoff_with_ticket", "utter_handoff", None]
    assert dispatcher.messages[0]["ticket_no"] == ticket.number
    assert events[0] == {"event": "slot", "timestamp": None, "name": "last_ticket", "value": ticket.number}
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
    slots = slot_values(events)
    assert slots["problem_what"] is None and slots["route"] is None and slots["handoff"] is True


async def test_a_second_handoff_for_the_same_matter_finds_the_same_ticket(make_tracker, domain, store):
    from rasa_sdk.executor import CollectingDispatcher

    slots = {"route": "ticket", "problem_what": "路灯坏了", "ticket_origin": "m-1"}
    for _ in range(2):
        await ActionHandoff(store=store).run(
            CollectingDispatcher(), make_tracker("人工", intent="ask_human", slots=slots), domain
        )

    assert len(store.tickets_for_conversation("12345:test:1")) == 1


async def test_handoff_does_not_repeat_the_slot(make_tracker, dispatcher, domain, store):
    tracker = make_tracker("人工", intent="ask_human", slots={"handoff": True})

    events = await ActionHandoff(store=store).run(dispatcher, tracker, domain)

    assert events == []
