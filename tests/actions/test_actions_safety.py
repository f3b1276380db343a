"""action_handle_crisis and action_handle_emergency."""

from __future__ import annotations

from action_test_support import FakeDecision, FakeEngine, responses, slot_values

from actions.safety import ActionHandleCrisis, ActionHandleEmergency


async def test_first_crisis_message_gives_numbers_and_brings_in_a_person(make_tracker, dispatcher, domain):
    tracker = make_tracker("我不想活了", intent="crisis")

    events = await ActionHandleCrisis().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_crisis"]
    assert slot_values(events) == {"in_crisis": True, "handoff": True, "route": "crisis", "channel": "12356"}
    assert not any(e["event"] == "active_loop" for e in events)


def test_crisis_response_names_the_hotlines_for_each_desk(domain):
    by_desk = {
        (v.get("condition") or [{}])[0].get("value", "default"): v["text"] for v in domain["responses"]["utter_crisis"]
    }
    for desk, text in by_desk.items():
        for number in ("12356", "110", "120"):
            assert number in text, (desk, number)
        assert "再见" not in text
    assert "12355" in by_desk["12355"]


async def test_crisis_mid_form_deactivates_the_form(make_tracker, dispatcher, domain):
    tracker = make_tracker("我不想活了", intent="crisis", active_loop="ticket_form")

    events = await ActionHandleCrisis().run(dispatcher, tracker, domain)

    assert (events[0]["event"], events[0]["name"]) == ("active_loop", None)


async def test_later_messages_stay_with_the_person(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        "嗯", intent="affirm", slots={"in_crisis": True, "handoff": True, "route": "crisis", "channel": "12356"}
    )

    events = await ActionHandleCrisis().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_crisis_stay"]
    assert events == []
    for variation in domain["responses"]["utter_crisis_stay"]:
        assert "12356" in variation["text"] and "110" in variation["text"]


async def test_emergency_uses_the_channel_entity_of_the_safety_override(make_tracker, dispatcher, domain):
    engine = FakeEngine(FakeDecision(route="ticket"))  # must not be asked
    tracker = make_tracker(
        "楼下着火了", intent="emergency", entities=[{"entity": "channel", "value": "119", "start": 2, "end": 5}]
    )

    events = await ActionHandleEmergency(engine=engine).run(dispatcher, tracker, domain)

    assert engine.calls == []
    assert responses(dispatcher) == ["utter_emergency_call", "utter_emergency_after"]
    assert dispatcher.messages[0]["channel"] == "119"
    assert dispatcher.messages[0]["channel_name"] == "消防救援"
    assert slot_values(events) == {"route": "emergency", "channel": "119"}
    assert domain["responses"]["utter_emergency_call"][0]["text"].startswith("请立即拨打")


async def test_emergency_without_entity_asks_the_engine_for_the_channel(make_tracker, dispatcher, domain):
    engine = FakeEngine(FakeDecision(route="emergency", channel="120"))

    await ActionHandleEmergency(engine=engine).run(dispatcher, make_tracker("我爸晕倒了", intent="emergency"), domain)

    assert dispatcher.messages[0]["channel"] == "120"


async def test_emergency_with_unknown_channel_lists_all_numbers(make_tracker, dispatcher, domain):
    engine = FakeEngine(error=RuntimeError("engine down"))

    events = await ActionHandleEmergency(engine=engine).run(
        dispatcher, make_tracker("快来人", intent="emergency"), domain
    )

    assert responses(dispatcher) == ["utter_emergency_unknown", "utter_emergency_after"]
    assert slot_values(events) == {"route": "emergency", "channel": None}
    text = domain["responses"]["utter_emergency_unknown"][0]["text"]
    assert all(n in text for n in ("110", "119", "120", "122"))
