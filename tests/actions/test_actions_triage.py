"""action_triage_request: what each route of the engine's decision makes the bot say and record.

TODO(lead): these tests use the FAKE engine of action_test_support.py (bot.triage.engine was being
written in parallel and needs the embedding model):
  1. add one integration test that runs the real engine through `load_triage_engine()`;
  2. keep FakeDecision's fields in step with bot.triage.engine.Decision (checked by hand on
     2026-11-23: route, desk, channel, category, category_l1, category_name, faq_id, entry_id,
     confidence, reply, signals, priority);
  3. when the ticket form lands, replace the "ticket noted" expectations by the form start.
"""

from __future__ import annotations

from action_test_support import FakeDecision, FakeEngine, responses, slot_values
from rasa_sdk.executor import CollectingDispatcher

from actions.triage import ActionTriageRequest


async def test_ticket_route_says_noted_with_category_and_records_the_decision(make_tracker, dispatcher, domain):
    engine = FakeEngine(
        FakeDecision(route="ticket", category="housing_property", category_l1="城乡建设", category_name="住房与物业")
    )
    tracker = make_tracker("小区物业不打扫卫生，垃圾堆了一周", earlier_texts=("你好",))

    events = await ActionTriageRequest(engine=engine).run(dispatcher, tracker, domain)

    assert engine.calls == [("小区物业不打扫卫生，垃圾堆了一周", "12345", ["你好"])]
    assert responses(dispatcher) == ["utter_ticket_noted"]
    assert dispatcher.messages[0]["category_name"] == "住房与物业"
    assert slot_values(events) == {
        "route": "ticket",
        "channel": None,
        "category": "housing_property",
        "faq_id": None,
        "problem_what": "小区物业不打扫卫生，垃圾堆了一周",
    }


async def test_ticket_route_falls_back_to_the_first_level_category(make_tracker, dispatcher, domain):
    engine = FakeEngine(FakeDecision(route="ticket", category="noise", category_l1="城乡建设"))

    await ActionTriageRequest(engine=engine).run(dispatcher, make_tracker("楼上太吵"), domain)

    assert dispatcher.messages[0]["category_name"] == "城乡建设"


async def test_ticket_route_without_a_readable_category_name_does_not_show_an_id(make_tracker, dispatcher, domain):
    engine = FakeEngine(FakeDecision(route="ticket", category="psych_counselling"))
    tracker = make_tracker("最近压力好大", sender_id="12355:web:7", slots={"desk": "12355"})

    await ActionTriageRequest(engine=engine).run(dispatcher, tracker, domain)

    assert engine.calls[0][1] == "12355"
    assert responses(dispatcher) == ["utter_ticket_noted_plain"]


async def test_faq_route_answers_and_asks_whether_it_helped(make_tracker, dispatcher, domain):
    engine = FakeEngine(FakeDecision(route="faq", faq_id="service_hours", reply="12345热线7×24小时有人接听。"))

    events = await ActionTriageRequest(engine=engine).run(dispatcher, make_tracker("12345晚上有人接吗"), domain)

    assert dispatcher.messages[0]["text"] == "12345热线7×24小时有人接听。"
    assert responses(dispatcher) == [None, "utter_faq_helpful"]
    buttons = {b["payload"] for b in domain["responses"]["utter_faq_helpful"][0]["buttons"]}
    assert buttons == {"/affirm", "/describe_problem"}
    assert slot_values(events)["faq_id"] == "service_hours"
    assert slot_values(events)["route"] == "faq"


async def test_refer_decline_and_clarify_send_the_engine_reply(make_tracker, domain):
    for route, channel in (("refer", "12368"), ("decline", None), ("clarify", None)):
        dispatcher_ = CollectingDispatcher()
        engine = FakeEngine(FakeDecision(route=route, channel=channel, reply=f"reply for {route}"))

        events = await ActionTriageRequest(engine=engine).run(dispatcher_, make_tracker("something"), domain)

        assert [m["text"] for m in dispatcher_.messages] == [f"reply for {route}"]
        assert slot_values(events)["route"] == route
        assert slot_values(events)["channel"] == channel


async def test_clarify_without_a_reply_still_asks_one_question(make_tracker, dispatcher, domain):
    engine = FakeEngine(FakeDecision(route="clarify"))

    await ActionTriageRequest(engine=engine).run(dispatcher, make_tracker("有个问题"), domain)

    assert responses(dispatcher) == ["utter_ask_rephrase"]


async def test_smalltalk_invites_the_request(make_tracker, dispatcher, domain):
    engine = FakeEngine(FakeDecision(route="smalltalk"))

    await ActionTriageRequest(engine=engine).run(dispatcher, make_tracker("哈哈"), domain)

    assert responses(dispatcher) == ["utter_invite_request"]


async def test_crisis_route_is_handled_like_the_crisis_intent(make_tracker, dispatcher, domain):
    engine = FakeEngine(FakeDecision(route="crisis", channel="12356"))
    tracker = make_tracker("感觉自己撑不下去了", active_loop="ticket_form")

    events = await ActionTriageRequest(engine=engine).run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_crisis"]
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
    assert slot_values(events) == {"in_crisis": True, "handoff": True, "route": "crisis", "channel": "12356"}


async def test_emergency_route_says_call_now_first(make_tracker, dispatcher, domain):
    engine = FakeEngine(FakeDecision(route="emergency", channel="119"))

    events = await ActionTriageRequest(engine=engine).run(dispatcher, make_tracker("楼道里冒黑烟"), domain)

    assert responses(dispatcher) == ["utter_emergency_call", "utter_emergency_after"]
    assert dispatcher.messages[0]["channel"] == "119"
    assert slot_values(events)["route"] == "emergency"
    assert slot_values(events)["channel"] == "119"


async def test_engine_error_apologises_and_offers_a_person(make_tracker, dispatcher, domain):
    engine = FakeEngine(error=RuntimeError("model file missing"))

    events = await ActionTriageRequest(engine=engine).run(dispatcher, make_tracker("路灯坏了"), domain)

    assert events == []
    assert responses(dispatcher) == ["utter_triage_error"]
    assert "转人工" in domain["responses"]["utter_triage_error"][0]["text"]


async def test_button_payload_asks_for_details_without_calling_the_engine(make_tracker, dispatcher, domain):
    engine = FakeEngine(FakeDecision(route="ticket"))

    events = await ActionTriageRequest(engine=engine).run(dispatcher, make_tracker("/describe_problem"), domain)

    assert engine.calls == []
    assert responses(dispatcher) == ["utter_ask_details"]
    assert slot_values(events) == {"faq_id": None}


async def test_history_leaves_out_payloads_and_the_current_message(make_tracker, dispatcher, domain):
    engine = FakeEngine(FakeDecision(route="clarify", reply="在哪里呢？"))
    tracker = make_tracker("就在我家楼下", intent="inform", earlier_texts=("/greet", "路灯坏了"))

    await ActionTriageRequest(engine=engine).run(dispatcher, tracker, domain)

    assert engine.calls == [("就在我家楼下", "12345", ["路灯坏了"])]
