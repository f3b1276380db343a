"""action_session_start: the desk of the conversation and carried-over slots."""

from __future__ import annotations

from action_test_support import slot_values

from actions.session import ActionSessionStart


async def test_desk_from_session_metadata(make_tracker, dispatcher, domain):
    tracker = make_tracker(sender_id="web:abc", slots={"session_started_metadata": {"desk": "12355"}})

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert events[0]["event"] == "session_started"
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")
    assert slot_values(events)["desk"] == "12355"
    assert dispatcher.messages == []


async def test_desk_from_sender_id_prefix(make_tracker, dispatcher, domain):
    events = await ActionSessionStart().run(dispatcher, make_tracker(sender_id="12355:telegram:42"), domain)

    assert slot_values(events)["desk"] == "12355"


async def test_default_desk_and_unknown_metadata_desk(make_tracker, dispatcher, domain):
    tracker = make_tracker(sender_id="someone", slots={"session_started_metadata": {"desk": "99999"}})

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert slot_values(events)["desk"] == "12345"


async def test_previous_desk_is_kept_without_metadata(make_tracker, dispatcher, domain):
    tracker = make_tracker(sender_id="web:abc", slots={"desk": "12355"})

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert slot_values(events)["desk"] == "12355"


async def test_slots_carry_over_but_the_crisis_companion_mode_ends(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        slots={"handoff": True, "in_crisis": True, "category": "noise", "session_started_metadata": {"desk": "12345"}}
    )

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    slots = slot_values(events)
    assert slots["handoff"] is True
    assert slots["category"] == "noise"
    assert slots["in_crisis"] is False
    assert "session_started_metadata" not in slots


async def test_a_half_filled_form_does_not_survive_a_new_session(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        slots={
            "problem_what": "路灯坏了",
            "route": "ticket",
            "ticket_editing": True,
            "last_ticket": "12345-20261123-0001",
        }
    )

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    slots = slot_values(events)
    assert slots["problem_what"] is None and slots["route"] is None and slots["ticket_editing"] is False
    assert slots["last_ticket"] == "12345-20261123-0001"


async def test_the_core_fallback_asks_once_and_forgets_the_message(make_tracker, dispatcher, domain):
    from actions.fallback import ActionCoreFallback

    events = await ActionCoreFallback().run(dispatcher, make_tracker("？"), domain)

    assert [m["response"] for m in dispatcher.messages] == ["utter_default"]
    assert [e["event"] for e in events] == ["rewind"]
